// The HTTP API of SPEC §6: a thin adapter between http::Server and the
// command handlers and read models. For each request it finds the route,
// authenticates the caller, checks the role and the tenant, decodes the body
// strictly, and runs the command or query where it belongs:
//   - queries and health checks on the I/O thread (they never block), unless
//     min_position asks to wait for a read model, which moves them to the
//     wait pool (so does a long query: the audit export);
//   - commands on the command pool;
//   - commands that hash a password (Argon2id) on the bounded hash pool.
// A full pool answers 503 with Retry-After; nothing queues without bound.
// A command's thread does not wait for its append to be durable: it goes on
// to the next request, and the answer is sent (by the lk-answer thread) once
// the store's fsync covers what the command wrote.
//
// Thread safety: handle() may be called from any number of I/O threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "latchkey/commands/commands.hpp"
#include "latchkey/commands/sodium_ports.hpp"
#include "latchkey/http/server.hpp"
#include "latchkey/notifications/dispatcher.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"
#include "metrics.hpp"
#include "worker_pool.hpp"

namespace latchkey::app {

struct ApiOptions {
  bool dev_clock = false;              // adds POST /v1/dev/clock
  double public_per_minute = 60;       // per source IP on the public routes; 0: no limit
  double public_burst = 30;
  // Self-service resets and account claims answer no sooner than this, so
  // that a known account (which appends and syncs) and an unknown one (which
  // does not) take the same time (SPEC §2: no enumeration).
  std::chrono::milliseconds self_service_floor{200};
  std::string platform_key_hash;       // hex BLAKE2b-256 of the platform key
  int io_threads = 0;                  // the HTTP server's, for /metrics
};

struct ApiDeps {
  commands::CommandHandlers& commands;
  projections::ReadModels& reads;
  projections::ProjectionRunner& runner;
  eventstore::EventStore& store;
  commands::SystemClock& clock;
  domain::Random& random;
  WorkerPool& hash_pool;
  WorkerPool& command_pool;
  WorkerPool& wait_pool;  // long queries, and queries waiting for min_position
  const notifications::Dispatcher* dispatcher = nullptr;
};

class Api {
 public:
  Api(ApiDeps deps, ApiOptions options);
  ~Api();

  void handle(http::Request request, http::Respond respond);

  // /readyz answers 200 once this is set (read models caught up at start).
  void set_ready(bool ready) { ready_.store(ready); }

  struct Route;
  struct Call;

 private:
  void add(std::string method, std::string pattern, int access, int exec,
           std::function<http::Response(Call&)> run);
  void add_routes();
  void dispatch(std::shared_ptr<Call> call);
  // Who is calling, and may they use this route in this tenant? An answer
  // (401, 403, 404) when not.
  std::optional<http::Response> authenticate(Call& call);
  void run_call(const std::shared_ptr<Call>& call);
  Result<commands::ApiKeyPrincipal> authenticate_key(const std::string& tenant, std::string_view key);
  // Invalidates every cached key check (called around each revocation).
  void forget_keys();
  void finish(Call& call, http::Response response);
  http::Response metrics_text();
  void render_memory(std::string& out);

  ApiDeps deps_;
  ApiOptions options_;
  std::vector<std::unique_ptr<Route>> routes_;
  RequestMetrics metrics_;
  std::atomic<bool> ready_{false};
  struct Guards;
  std::unique_ptr<Guards> guards_;  // rate limiter, idempotency store, delayed answers
  std::string request_id_prefix_;
  std::atomic<std::uint64_t> request_counter_{1};

  // Answers held until a command's append is durable; the destructor waits
  // for them (the store calls back into this object).
  void answer_when_durable(const std::shared_ptr<Call>& call, http::Response response);
  std::atomic<std::size_t> held_answers_{0};
  std::mutex held_mutex_;
  std::condition_variable held_done_;
  // Sends them, off the store's sync thread (an access-log line may block).
  WorkerPool answer_pool_{"answer", 1, 1u << 16};

  struct CachedKey {
    std::string tenant;
    commands::ApiKeyPrincipal who;
    std::uint64_t epoch = 0;
  };
  std::shared_mutex key_cache_mutex_;
  std::unordered_map<std::string, CachedKey> key_cache_;  // by BLAKE2b of the presented key
  std::atomic<std::uint64_t> key_epoch_{0};
};

}  // namespace latchkey::app
