// latchkeyd's API, whole and in process, for the fuzz targets: a real store
// and read models (unsynced, in a temp dir), real handlers at the minimum
// Argon2id cost, a tenant with a key of every role and a guardian session.
// Built once per fuzzing process.
#pragma once

#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "api.hpp"
#include "latchkey/commands/commands.hpp"
#include "latchkey/commands/sodium_ports.hpp"
#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "latchkey/projections/read_model_db.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"
#include "platform_key.hpp"
#include "worker_pool.hpp"

namespace latchkey::fuzz {

class AppHarness {
 public:
  AppHarness() {
    if (sodium_init() < 0) std::abort();
    char dir_template[] = "/tmp/latchkey-fuzz-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    eventstore::RocksDbOptions store_options;
    store_options.sync = false;
    store_ = take(eventstore::open_rocksdb_event_store(dir_ + "/events", store_options));
    read_db_ = take(projections::open_read_model_db(dir_ + "/readmodels"));
    runner_ = std::make_unique<projections::ProjectionRunner>(*store_, *read_db_,
                                                              projections::make_all_projections(*read_db_));
    (void)runner_->open();
    auto key = take(app::ensure_platform_key(*store_, dir_, random_, clock_));
    platform_key_ = key.value_or("");
    handlers_ = std::make_unique<commands::CommandHandlers>(
        *store_, commands::Ports{clock_, random_, passwords_, tokens_});
    reads_ = std::make_unique<projections::ReadModels>(*read_db_, *store_, clock_, runner_.get());
    app::ApiOptions options;
    options.public_per_minute = 0;
    options.self_service_floor = std::chrono::milliseconds(0);
    options.platform_key_hash = take(app::platform_key_hash(*store_));
    api_ = std::make_unique<app::Api>(
        app::ApiDeps{*handlers_, *reads_, *runner_, *store_, clock_, random_, hash_pool_,
                     command_pool_, wait_pool_, nullptr},
        options);
    runner_->start();
    api_->set_ready(true);
  }

  // One request through the API; waits for its answer.
  http::Response handle(http::Request request) {
    if (request.source_ip.empty()) request.source_ip = "127.0.0.1";
    auto answer = std::make_shared<std::promise<http::Response>>();
    auto done = answer->get_future();
    api_->handle(std::move(request), [answer](http::Response r) { answer->set_value(std::move(r)); });
    return done.get();
  }

  http::Response call(const std::string& method, const std::string& target, const std::string& bearer,
                      const std::string& body) {
    http::Request r;
    r.method = method;
    r.target = target;
    if (!bearer.empty()) r.headers.emplace_back("authorization", "Bearer " + bearer);
    r.headers.emplace_back("content-type", "application/json");
    r.body = body;
    return handle(std::move(r));
  }

  app::Api& api() { return *api_; }
  const std::string& platform_key() const { return platform_key_; }

 private:
  template <class T>
  static T take(Result<T> r) {
    if (!r.ok()) {
      std::fprintf(stderr, "fuzz harness: %s\n", r.error().message.c_str());
      std::abort();
    }
    return std::move(*r);
  }

  std::string dir_;
  commands::SystemClock clock_;
  commands::SodiumRandom random_;
  commands::Argon2idHasher passwords_{commands::HashCost::test};
  commands::Blake2bTokenHasher tokens_{std::array<std::uint8_t, 32>{7, 7, 7}};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<projections::ReadModelDb> read_db_;
  std::unique_ptr<projections::ProjectionRunner> runner_;
  std::string platform_key_;
  std::unique_ptr<commands::CommandHandlers> handlers_;
  std::unique_ptr<projections::ReadModels> reads_;
  app::WorkerPool hash_pool_{"hash", 2, 64};
  app::WorkerPool command_pool_{"command", 4, 256};
  app::WorkerPool wait_pool_{"wait", 4, 256};
  std::unique_ptr<app::Api> api_;
};

}  // namespace latchkey::fuzz
