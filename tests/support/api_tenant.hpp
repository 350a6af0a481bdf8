// A tenant on a running latchkeyd, with its keys and the calls tests make
// most, plus a reader of the outbox file that picks up where it left off.
#pragma once

#include <barrier>
#include <cctype>
#include <functional>
#include <set>
#include <thread>

#include "support/latchkeyd.hpp"
#include "support/metrics_routes.hpp"

namespace latchkey::testing {

// The arguments of a test server: dev clock, minimum Argon2id cost, no
// public rate limit and no self-service floor unless a test adds them.
inline std::vector<std::string> test_server_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0",
                                   "--self-service-floor-ms", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct ApiTenant {
  const LatchkeydProcess* server = nullptr;
  std::string id;
  std::string admin, staff, registrar, auditor;

  // Creates the tenant and one key per role.
  static ApiTenant create(const LatchkeydProcess& server, const std::string& id = "sunny",
                          const std::string& name = "Sunny Days") {
    ApiTenant t;
    t.server = &server;
    t.id = id;
    auto r = server.call("POST", "/v1/tenants", server.platform_key(), nlohmann::json{{"id", id}, {"name", name}});
    EXPECT_EQ(r.status, 201) << r.body;
    t.admin = r.json["admin_key"]["key"];
    t.staff = t.key("Front desk", "staff");
    t.registrar = t.key("Registration form", "registrar");
    t.auditor = t.key("Auditor", "auditor");
    return t;
  }

  std::string path(const std::string& suffix) const { return "/v1/t/" + id + suffix; }

  ApiReply call(const std::string& method, const std::string& suffix, const std::string& bearer,
                const nlohmann::json& body = nullptr) const {
    return body.is_null() ? server->call(method, path(suffix), bearer) : server->call(method, path(suffix), bearer, body);
  }

  std::string key(const std::string& name, const std::string& role) const {
    auto r = call("POST", "/api-keys", admin, {{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.value("key", "");
  }

  void settings(const nlohmann::json& patch) const {
    auto r = call("PATCH", "/settings", admin, patch);
    EXPECT_EQ(r.status, 202) << r.body;
  }

  // A family with one guardian holding a portal account; the guardian id.
  std::string registered(const std::string& email, const std::string& password, const std::string& first = "Ana",
                         const std::string& last = "Rivera", const std::string& phone = "+15551230000") const {
    nlohmann::json body = {{"family_name", last},
                           {"guardians", nlohmann::json::array({{{"first_name", first},
                                                                 {"last_name", last},
                                                                 {"email", email},
                                                                 {"phone", phone},
                                                                 {"password", password}}})}};
    auto r = call("POST", "/registrations", registrar, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.is_object() && r.json.contains("guardian_ids") ? r.json["guardian_ids"][0].get<std::string>() : "";
  }

  ApiReply log_in(const std::string& login, const std::string& password) const {
    return call("POST", "/sessions", "", {{"login", login}, {"password", password}});
  }
  std::string session(const std::string& login, const std::string& password) const {
    auto r = log_in(login, password);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.value("session_token", "");
  }
  ApiReply staff_reset(const std::string& guardian, const std::string& channel = "email") const {
    return call("POST", "/guardians/" + guardian + "/reset-requests", staff, {{"channel", channel}});
  }
  ApiReply redeem(const std::string& token, const std::string& new_password) const {
    return call("POST", "/password-resets/redeem", "", {{"token", token}, {"new_password", new_password}});
  }
};

// Moves the server's dev clock forward.
inline void advance_clock(const LatchkeydProcess& server, std::int64_t seconds) {
  auto r = server.call("POST", "/v1/dev/clock", "", nlohmann::json{{"advance_seconds", seconds}});
  EXPECT_EQ(r.status, 200) << r.body;
}

// The log head as /readyz reports it.
inline std::uint64_t log_head(const LatchkeydProcess& server) {
  return server.call("GET", "/readyz").json.value("position", 0ULL);
}

// What follows `marker` in `body` while `allowed`; empty when absent.
inline std::string text_after(const std::string& body, const std::string& marker, bool (*allowed)(char)) {
  auto at = body.find(marker);
  if (at == std::string::npos) return {};
  auto end = at + marker.size();
  while (end < body.size() && allowed(body[end])) ++end;
  return body.substr(at + marker.size(), end - at - marker.size());
}
inline std::string reset_token_in(const std::string& body) {
  return text_after(body, "reset?token=", [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}
inline std::string temporary_password_in(const std::string& body) {
  return text_after(body, "Temporary password: ", [](char c) { return c != '\n'; });
}

// Reads the lines appended to an outbox file since the last read.
class OutboxReader {
 public:
  explicit OutboxReader(std::string path) : path_(std::move(path)) {}

  // The next message to `to` whose body holds `marker`, waiting up to 10 s.
  nlohmann::json next_to(const std::string& to, const std::string& marker = "") {
    for (int i = 0; i < 2000; ++i) {
      read_new();
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if ((*it)["to"] == to && (*it)["body"].get<std::string>().find(marker) != std::string::npos) {
          auto m = *it;
          pending_.erase(it);
          return m;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return nullptr;
  }

 private:
  void read_new() {
    std::ifstream in(path_);
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line still being written
      offset_ += line.size() + 1;
      auto m = nlohmann::json::parse(line, nullptr, false);
      if (m.is_object()) pending_.push_back(std::move(m));
    }
  }

  std::string path_;
  std::size_t offset_ = 0;
  std::vector<nlohmann::json> pending_;
};

// Every route the server serves, as (method, pattern), read from the
// latency histogram /metrics keeps for each route, requested or not.
inline std::set<std::pair<std::string, std::string>> served_routes(const LatchkeydProcess& server) {
  return routes_in_metrics(server.call("GET", "/metrics").body);
}

// Runs fn(0) … fn(n-1) on n threads released at the same moment.
template <class Fn>
auto at_once(int n, Fn fn) {
  using R = decltype(fn(0));
  std::vector<R> results(static_cast<std::size_t>(n));
  std::barrier start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[static_cast<std::size_t>(i)] = fn(i);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace latchkey::testing
