// What api.cpp and routes.cpp share: the route and call records, the access
// bits, and the helpers that turn results into responses.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api.hpp"
#include "request_body.hpp"

namespace latchkey::app {

// Who may call a route (bits, combined with |).
enum Access : int {
  kAdmin = 1,
  kStaff = 2,
  kRegistrar = 4,
  kAuditor = 8,
  kPlatform = 16,
  kGuardian = 32,            // a guardian session, not one that must change its password
  kGuardianMustChange = 64,  // a guardian session, even one that must change its password
  kPublic = 128,             // anyone; rate limited per source IP
  kOpen = 256,               // anyone; not limited (health, metrics)
};

// Where a route runs.
enum Exec : int {
  kInline = 0,   // on the I/O thread: never blocks
  kQuery = 1,    // on the I/O thread, or on a worker when min_position must be waited for
  kCommand = 2,  // the command pool: appends (its answer waits for the fsync, not its thread)
  kHash = 3,     // the bounded hash pool: runs Argon2id
  kWait = 4,     // the wait pool: a long query, or one waiting for min_position
};

struct Api::Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  int access = 0;
  int exec = kInline;
  std::function<http::Response(Call&)> run;
  std::size_t metric = 0;
};

struct Api::Call {
  http::Request request;
  http::Respond respond;
  std::chrono::steady_clock::time_point started;
  std::string request_id;
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::map<std::string, std::string, std::less<>> query;
  std::uint64_t min_position = 0;
  std::string tenant;
  std::string credential;  // "platform", "key:<id>", "session:<id>": scopes Idempotency-Key
  std::string role;        // of an API key
  commands::GuardianPrincipal guardian;  // of a session
  std::string session_token;
  commands::CommandContext ctx;
  std::string idempotency_scope;
  std::optional<std::chrono::steady_clock::time_point> floor_until;
  // The last position the command wrote (ctx.durable_at points here), and
  // its answer while it waits for that position to be durable.
  std::uint64_t durable_at = 0;
  http::Response answer;

  const std::string& param(std::string_view name) const;
  const std::string* query_value(std::string_view name) const;
};

int status_for(std::string_view code);
http::Response problem_of(const Error& error);
http::Response json_response(int status, const nlohmann::json& body);

}  // namespace latchkey::app
