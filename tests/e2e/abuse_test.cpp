// Abuse (issue 8), against the real latchkeyd: enumeration by answer and by
// timing, guessing under the rate limit and lockout, slow clients, bad input
// that changes nothing, and tenant isolation over every route.
#include <fcntl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

#include "support/api_tenant.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "Sunflower-42x";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}


// Self-service answers for a known and an unknown login, 1,000 each,
// interleaved at random and 24 at a time: the same answer, and medians within
// 10 % of each other (the default 200 ms floor is what makes them so).
TEST(Abuse, SelfServiceAnswersTellNothingByContentOrTiming) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto t = ApiTenant::create(server);
  json body = {{"family_name", "Rivera"},
               {"guardians", json::array({{{"first_name", "Ana"}, {"last_name", "Rivera"},
                                           {"email", "ana@example.com"}, {"password", kPassword}}})},
               {"children", json::array({{{"child_id", "C-1001"}, {"first_name", "Mia"}, {"last_name", "Rivera"}}})}};
  auto reg = t.call("POST", "/registrations", t.registrar, body);
  ASSERT_EQ(reg.status, 201) << reg.body;
  const std::string g = reg.json["guardian_ids"][0];
  ASSERT_EQ(t.call("POST", "/portal-login-resets", t.staff, {{"guardian_ids", {g}}}).status, 200);

  struct Probe {
    const char* name;
    std::string path;
    json known, unknown;
  };
  const std::vector<Probe> probes = {
      {"password reset", "/password-resets", {{"login", "ana@example.com"}}, {{"login", "nobody@example.com"}}},
      {"account claim", "/account-claims",
       {{"login_id", "ana.rivera"}, {"child_id", "C-1001"}, {"first_name", "Ana"}, {"last_name", "Rivera"}},
       {{"login_id", "nobody"}, {"child_id", "C-9999"}, {"first_name", "No"}, {"last_name", "Body"}}},
  };
  constexpr int kEach = 1000;
  constexpr int kInFlight = 24;
  for (const auto& probe : probes) {
    std::vector<int> order(2 * kEach);
    for (int i = 0; i < 2 * kEach; ++i) order[static_cast<std::size_t>(i)] = i % 2;
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::vector<double> ms[2];
    std::set<std::string> bodies[2];
    std::set<int> statuses;
    std::vector<std::thread> clients;
    for (int c = 0; c < kInFlight; ++c) {
      clients.emplace_back([&] {
        for (std::size_t i; (i = next.fetch_add(1)) < order.size();) {
          const int known = order[i];
          auto started = std::chrono::steady_clock::now();
          auto r = t.call("POST", probe.path, "", known ? probe.known : probe.unknown);
          const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
          std::lock_guard lock(mu);
          ms[known].push_back(elapsed);
          bodies[known].insert(r.body);
          statuses.insert(r.status);
        }
      });
    }
    for (auto& c : clients) c.join();
    EXPECT_EQ(statuses, std::set<int>{202}) << probe.name;
    EXPECT_EQ(bodies[0], bodies[1]) << probe.name;
    EXPECT_EQ(bodies[0].size(), 1u) << probe.name;
    const double known = median(ms[1]), unknown = median(ms[0]);
    EXPECT_LE(std::abs(known - unknown), 0.10 * std::max(known, unknown))
        << probe.name << ": median " << known << " ms for a known login, " << unknown << " ms for an unknown one";
    std::cout << probe.name << ": median " << known << " ms known, " << unknown << " ms unknown\n";
  }
}

// Guessing: reset tokens and passwords from one address meet the per-address
// limit; a guessed-at account locks.
TEST(Abuse, GuessingIsRateLimitedAndLocksTheAccount) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--self-service-floor-ms", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto t = ApiTenant::create(server);
  auto g = t.registered("ana@example.com", kPassword);

  int limited = 0, refused = 0;
  std::string retry_after;
  for (int i = 0; i < 100; ++i) {
    auto r = t.redeem(g + "." + std::string(43, static_cast<char>('a' + i % 26)), "Never-Set-91z");
    if (r.status == 429) {
      ++limited;
      retry_after = r.header("Retry-After");
    } else {
      ++refused;
      EXPECT_EQ(r.code(), "token_invalid") << r.body;
    }
  }
  EXPECT_GE(limited, 60) << "guesses beyond the burst are refused without being tried";
  EXPECT_LE(refused, 40);
  EXPECT_FALSE(retry_after.empty());

  // Passwords: ten wrong ones lock the account (on a second server, whose
  // limiter has not yet met this address).
  TempDir dir2;
  LatchkeydProcess fresh(dir2, {"--dev-clock", "--password-hash-cost", "test", "--self-service-floor-ms", "0"});
  ASSERT_TRUE(fresh.ready());
  auto t2 = ApiTenant::create(fresh);
  auto g2 = t2.registered("ben@example.com", kPassword, "Ben");
  for (int i = 0; i < 10; ++i) EXPECT_EQ(t2.log_in("ben@example.com", "Wrong-" + std::to_string(i) + "-Guess").status, 401);
  EXPECT_EQ(t2.log_in("ben@example.com", kPassword).status, 401) << "locked: even the right password is refused";
  auto state = t2.call("GET", "/guardians/" + g2 + "?min_position=" + std::to_string(log_head(fresh)), t2.staff);
  EXPECT_EQ(state.json["status"], "locked") << state.body;
}

// 500 connections sending one header byte a second do not stop anyone else.
TEST(Abuse, SlowClientsDoNotStopNormalRequests) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto t = ApiTenant::create(server);
  auto g = t.registered("ana@example.com", kPassword);

  std::vector<int> slow;
  for (int i = 0; i < 500; ++i) {
    int fd = connect_loopback(server.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    const std::string start = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    ASSERT_EQ(::send(fd, start.data(), start.size(), MSG_NOSIGNAL), static_cast<ssize_t>(start.size()));
    slow.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread dripper([&] {
    while (!done) {
      for (int fd : slow) (void)::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      for (int i = 0; i < 10 && !done; ++i) std::this_thread::sleep_for(100ms);
    }
  });
  double worst_ms = 0;
  int answered = 0;
  const auto until = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < until) {
    auto started = std::chrono::steady_clock::now();
    auto r = t.call("GET", "/guardians/" + g, t.staff);
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    EXPECT_EQ(r.status, 200) << r.body;
    answered += r.status == 200;
    std::this_thread::sleep_for(50ms);
  }
  done = true;
  dripper.join();
  for (int fd : slow) ::close(fd);
  EXPECT_GT(answered, 50);
  EXPECT_LT(worst_ms, 1000) << "a normal request waited behind slow clients";
  std::cout << answered << " requests answered beside 500 slow clients, the slowest in " << worst_ms << " ms\n";
}

// Bad input gets a clear 4xx and changes nothing (SPEC §8).
TEST(Abuse, BadInputIsRefusedAndChangesNothing) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto t = ApiTenant::create(server);
  const std::string path = t.path("/registrations");
  auto raw = [&](const std::string& content_type, const std::string& body) {
    return raw_exchange(server.port(), "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
                                           t.registrar + "\r\nContent-Type: " + content_type +
                                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  const std::string guardian = R"({"first_name":"Ana","last_name":"Rivera","email":"ana@example.com"})";
  struct Case {
    const char* name;
    std::string content_type, body;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", "application/json", R"({"family_name": "Rivera",)", 400, "invalid_json"},
      {"not an object", "application/json", "[1,2,3]", 400, "invalid_json"},
      {"wrong type", "application/json", R"({"family_name": 42, "guardians": [)" + guardian + "]}", 400, "invalid_input"},
      {"unknown field", "application/json", R"({"family_name": "R", "admin": true, "guardians": [)" + guardian + "]}", 400, "invalid_input"},
      {"missing field", "application/json", R"({"guardians": [)" + guardian + "]}", 400, "invalid_input"},
      {"deep nesting", "application/json", std::string(200, '[') + std::string(200, ']'), 400, "invalid_json"},
      {"bad UTF-8", "application/json", "{\"family_name\": \"R\xc3\x28\", \"guardians\": [" + guardian + "]}", 400, "invalid_json"},
      {"oversized field", "application/json", R"({"family_name": ")" + std::string(5000, 'R') + R"(", "guardians": [)" + guardian + "]}", 400, "invalid_input"},
      {"oversized body", "application/json", std::string(70 * 1024, ' '), 413, nullptr},
      {"not JSON at all", "text/plain", "family_name=Rivera", 415, nullptr},
  };
  const auto before = log_head(server);
  for (const auto& c : cases) {
    auto r = raw(c.content_type, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_NE(r.head.find("application/problem+json"), std::string::npos) << c.name;
    if (c.code != nullptr) {
      EXPECT_NE(r.body.find(std::string("\"code\":\"") + c.code + "\""), std::string::npos) << c.name << ": " << r.body;
    }
  }
  const std::string huge_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw_exchange(server.port(), huge_header).status, 431);
  EXPECT_EQ(raw_exchange(server.port(), "BREW /coffee HTCPCP/1.0\r\n\r\n").status, 400);
  EXPECT_EQ(log_head(server), before) << "a refused request appended something";
  EXPECT_TRUE(server.ready());
}

// Every tenant route, called with another tenant's credentials, answers
// exactly as for a tenant that does not exist; called on one's own tenant
// with another tenant's ids, exactly as for ids that do not exist. Nothing
// is appended either way.
TEST(Abuse, EveryRouteKeepsTenantsApart) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0",
                                "--self-service-floor-ms", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto a = ApiTenant::create(server, "sunny", "Sunny Days");
  auto b = ApiTenant::create(server, "moon", "Moon Gym");
  // Tenant A's records: a family with a guardian and a child, a policy, a key.
  json family = {{"family_name", "Rivera"},
                 {"guardians", json::array({{{"first_name", "Ana"}, {"last_name", "Rivera"},
                                             {"email", "ana@example.com"}, {"password", kPassword}}})},
                 {"children", json::array({{{"child_id", "C-1001"}, {"first_name", "Mia"}, {"last_name", "Rivera"}}})}};
  auto reg = a.call("POST", "/registrations", a.registrar, family);
  ASSERT_EQ(reg.status, 201);
  const std::string a_guardian = reg.json["guardian_ids"][0];
  const std::string a_family = a.call("GET", "/guardians/" + a_guardian + "?min_position=" + std::to_string(log_head(server)),
                                      a.staff).json["family_id"];
  ASSERT_EQ(a.call("POST", "/policies", a.admin, {{"policy_id", "photo"}, {"title", "Photo"}, {"version", 1}, {"text", "t"}}).status, 201);
  const std::string a_key_id = a.staff.substr(a.staff.find('~') + 1, a.staff.find('.') - a.staff.find('~') - 1);
  b.registered("bo@example.com", kPassword, "Bo");
  const std::string b_session = b.session("bo@example.com", kPassword);
  // A session token of the same shape that no tenant issued.
  std::string made_up_session = b_session;
  std::replace_if(made_up_session.begin() + static_cast<std::ptrdiff_t>(made_up_session.find('.') + 1),
                  made_up_session.end(), [](char c) { return c != 'A'; }, 'A');

  auto fill = [](std::string pattern, const std::string& tenant, const std::map<std::string, std::string>& ids) {
    for (const auto& [name, value] : ids) {
      for (std::size_t at; (at = pattern.find(name)) != std::string::npos;) pattern.replace(at, name.size(), value);
    }
    for (std::size_t at; (at = pattern.find("{t}")) != std::string::npos;) pattern.replace(at, 3, tenant);
    return pattern;
  };
  const std::map<std::string, std::string> a_ids = {{"{f}", a_family}, {"{g}", a_guardian}, {"{p}", "photo"}, {"{id}", a_key_id}};
  const std::map<std::string, std::string> no_ids = {{"{f}", "no-such-family"}, {"{g}", "no-such-guardian"},
                                                     {"{p}", "no-such-policy"}, {"{id}", "no-such-key"}};
  const std::vector<std::pair<const char*, std::string>> b_credentials = {
      {"admin", b.admin}, {"staff", b.staff}, {"registrar", b.registrar}, {"auditor", b.auditor}, {"guardian", b_session}};
  auto send = [&](const std::string& method, const std::string& target, const std::string& bearer) {
    return method == "GET" ? server.call(method, target, bearer) : server.call(method, target, bearer, json::object());
  };

  const auto before = log_head(server);
  int checked = 0;
  for (const auto& [method, pattern] : served_routes(server)) {
    if (pattern.find("{t}") == std::string::npos) continue;
    // Routes anyone may call (logins, self-service) have no credential to misuse.
    if (send(method, fill(pattern, "sunny", a_ids), "").status != 401) continue;
    for (const auto& [role, credential] : b_credentials) {
      // B's key on A's tenant answers as on a tenant that does not exist; B's
      // session on A's tenant as a session that does not exist.
      const bool session = std::string(role) == "guardian";
      auto foreign = send(method, fill(pattern, "sunny", a_ids), credential);
      auto missing = session ? send(method, fill(pattern, "sunny", a_ids), made_up_session)
                             : send(method, fill(pattern, "no-such-tenant", a_ids), credential);
      EXPECT_EQ(foreign.status, missing.status) << role << " " << method << " " << pattern << ": " << foreign.body;
      EXPECT_EQ(foreign.code(), missing.code()) << role << " " << method << " " << pattern;
      EXPECT_TRUE(foreign.status == 401 || foreign.status == 404) << role << " " << method << " " << pattern;
      // B's credential on B's tenant with A's ids, as with ids that do not exist.
      if (pattern.find("{f}") != std::string::npos || pattern.find("{g}") != std::string::npos ||
          pattern.find("{p}") != std::string::npos || pattern.find("{id}") != std::string::npos) {
        auto borrowed = send(method, fill(pattern, "moon", a_ids), credential);
        auto none = send(method, fill(pattern, "moon", no_ids), credential);
        EXPECT_EQ(borrowed.status, none.status) << role << " " << method << " " << pattern << ": " << borrowed.body;
        EXPECT_EQ(borrowed.code(), none.code()) << role << " " << method << " " << pattern;
        EXPECT_NE(borrowed.status / 100, 2) << role << " " << method << " " << pattern;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 5 * 25) << "too few routes were checked";
  EXPECT_EQ(log_head(server), before) << "a foreign call appended something";
}

}  // namespace
}  // namespace latchkey
