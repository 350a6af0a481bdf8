// docs/openapi.yaml is kept true against the real latchkeyd: every documented
// operation is served, every served route is documented, and each
// operation's declared access (`x-latchkey-access`, `security: []`) is who
// the server actually lets through.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/api_tenant.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;

using Route = std::pair<std::string, std::string>;  // method, path as written in routes.cpp

// Every route app/routes.cpp adds, as written there (`/v1/dev/clock` only
// exists with --dev-clock). EveryServedRouteIsDocumented finds new routes on
// its own, through /metrics; this table is the reviewed list, so that a
// route that disappears from the document is noticed even without a server.
const std::vector<Route> kRoutes = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"POST", "/v1/dev/clock"},
    {"POST", "/v1/tenants"},
    {"GET", "/v1/t/{t}/settings"},
    {"PATCH", "/v1/t/{t}/settings"},
    {"GET", "/v1/t/{t}/sms-credits"},
    {"POST", "/v1/t/{t}/sms-credits"},
    {"POST", "/v1/t/{t}/api-keys"},
    {"DELETE", "/v1/t/{t}/api-keys/{id}"},
    {"POST", "/v1/t/{t}/policies"},
    {"POST", "/v1/t/{t}/families"},
    {"GET", "/v1/t/{t}/families/{f}"},
    {"POST", "/v1/t/{t}/families/{f}/guardians"},
    {"POST", "/v1/t/{t}/families/{f}/children"},
    {"GET", "/v1/t/{t}/families/{f}/policies"},
    {"GET", "/v1/t/{t}/guardians"},
    {"GET", "/v1/t/{t}/guardians/{g}"},
    {"PATCH", "/v1/t/{t}/guardians/{g}"},
    {"PUT", "/v1/t/{t}/guardians/{g}/can-log-in"},
    {"GET", "/v1/t/{t}/guardians/{g}/history"},
    {"POST", "/v1/t/{t}/registrations"},
    {"POST", "/v1/t/{t}/sessions"},
    {"DELETE", "/v1/t/{t}/sessions/current"},
    {"GET", "/v1/t/{t}/me"},
    {"POST", "/v1/t/{t}/me/password"},
    {"PUT", "/v1/t/{t}/me/login-id"},
    {"PUT", "/v1/t/{t}/me/security-question"},
    {"POST", "/v1/t/{t}/me/policies/{p}/acceptances"},
    {"POST", "/v1/t/{t}/password-resets"},
    {"POST", "/v1/t/{t}/password-resets/redeem"},
    {"POST", "/v1/t/{t}/guardians/{g}/reset-requests"},
    {"POST", "/v1/t/{t}/guardians/{g}/temporary-password"},
    {"POST", "/v1/t/{t}/portal-login-resets"},
    {"POST", "/v1/t/{t}/account-claims"},
    {"GET", "/v1/t/{t}/policies/{p}/acceptances"},
    {"POST", "/v1/t/{t}/policies/{p}/manual-acceptances"},
    {"GET", "/v1/t/{t}/audit"},
    {"GET", "/v1/t/{t}/audit/export"},
};

// The access names of app/api_internal.hpp, as the document spells them.
const std::set<std::string> kAccessNames = {"open",    "public",   "platform",
                                            "admin",   "staff",    "registrar",
                                            "auditor", "guardian", "guardian_must_change"};

// ---- the document ---------------------------------------------------------

// One documented operation, as the line scanner saw it.
struct Operation {
  std::string method;  // upper case
  std::string path;    // as written, with its {params}
  std::set<std::string> access;
  bool anyone = false;  // `security: []`: no credential needed
  bool has_summary = false;
  bool has_responses = false;

  Route route() const { return {method, path}; }
  std::string name() const { return method + " " + path; }
  bool allows(const std::string& who) const { return access.count(who) > 0; }
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

// "[admin, platform]" → {"admin", "platform"}.
std::set<std::string> flow_list(const std::string& text) {
  std::set<std::string> out;
  std::string inner = trim(text);
  if (inner.size() < 2 || inner.front() != '[' || inner.back() != ']') return out;
  std::stringstream items(inner.substr(1, inner.size() - 2));
  for (std::string item; std::getline(items, item, ',');) {
    if (!trim(item).empty()) out.insert(trim(item));
  }
  return out;
}

// Reads the document by its layout rather than with a YAML parser (the
// project has none, and the layout is promised in the file's header): a path
// is a two-space key starting with '/', a method a four-space lower-case key
// under it, and an operation's own keys are at six spaces.
std::vector<Operation> scan_openapi(const std::string& file) {
  std::ifstream in(file);
  std::vector<Operation> ops;
  std::string path;
  bool in_paths = false;
  bool in_operation = false;
  static const std::set<std::string> kMethods = {"get", "post", "put", "patch", "delete"};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != ' ') {  // a top-level key ends `paths:`
      in_paths = line == "paths:";
      path.clear();
      in_operation = false;
      continue;
    }
    if (!in_paths) continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      in_operation = false;
      continue;
    }
    if (path.empty()) continue;
    if (line.rfind("    ", 0) == 0 && line.size() > 4 && line[4] != ' ') {
      const std::string key = line.substr(4, line.size() - 4);
      const std::string method = key.substr(0, key.size() - 1);
      in_operation = key.back() == ':' && kMethods.count(method) > 0;
      if (in_operation) ops.push_back({upper(method), path});
      continue;
    }
    if (!in_operation || line.size() <= 6 || line.rfind("      ", 0) != 0 || line[6] == ' ') {
      continue;
    }
    Operation& op = ops.back();
    const std::string key = line.substr(6);
    if (key.rfind("summary:", 0) == 0) op.has_summary = true;
    if (key == "responses:") op.has_responses = true;
    if (key == "security: []") op.anyone = true;
    if (key.rfind("x-latchkey-access:", 0) == 0) op.access = flow_list(key.substr(18));
  }
  return ops;
}

const std::vector<Operation>& documented() {
  static const std::vector<Operation> ops = scan_openapi(LATCHKEY_OPENAPI);
  return ops;
}

std::set<Route> documented_routes() {
  std::set<Route> out;
  for (const auto& op : documented()) out.insert(op.route());
  return out;
}

// ---- the server -------------------------------------------------------------

constexpr const char* kTenant = "sunny";

// A documented path with real values: the tenant for {t}, "x" for any other
// parameter (an id that does not exist, which is fine: what is checked is
// the route, not the record).
std::string concrete(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') {
      out += path[i];
      continue;
    }
    const auto close = path.find('}', i);
    out += path.compare(i, close - i + 1, "{t}") == 0 ? std::string(kTenant) : std::string("x");
    i = close;
  }
  return out;
}

// Every method but GET is sent an empty JSON object: each route then answers
// from its own checks (400 for missing fields), never from routing.
std::string body_for(const Operation& op) {
  return op.method == "GET" ? std::string() : std::string("{}");
}

// latchkeyd with --dev-clock (so that /v1/dev/clock exists) and the tenant,
// created with the platform key.
class OpenApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<LatchkeydProcess>(
        dir, std::vector<std::string>{"--dev-clock", "--password-hash-cost", "test"});
    ASSERT_TRUE(server->ready()) << server->log();
    ASSERT_EQ(server->platform_key().rfind("lk_platform_", 0), 0u);
    auto tenant = server->call("POST", "/v1/tenants", server->platform_key(),
                               json{{"id", kTenant}, {"name", "Sunny"}});
    ASSERT_EQ(tenant.status, 201) << tenant.body;
    admin = tenant.json["admin_key"]["key"].get<std::string>();
  }

  TempDir dir;
  std::unique_ptr<LatchkeydProcess> server;
  std::string admin;  // the tenant's first admin key
};

// ---- the document alone ------------------------------------------------------

TEST(OpenApiTest, TheDocumentNamesEveryRouteOfRoutesCpp) {
  const auto in_document = documented_routes();
  ASSERT_FALSE(in_document.empty()) << "no operation scanned in " << LATCHKEY_OPENAPI;
  EXPECT_EQ(in_document.size(), documented().size()) << "an operation is documented twice";
  for (const auto& route : kRoutes) {
    EXPECT_TRUE(in_document.count(route))
        << route.first << " " << route.second << " is a route of app/routes.cpp but not documented";
  }
  const std::set<Route> in_table(kRoutes.begin(), kRoutes.end());
  for (const auto& route : in_document) {
    EXPECT_TRUE(in_table.count(route))
        << route.first << " " << route.second << " is documented but not in kRoutes";
  }
}

TEST(OpenApiTest, EveryOperationHasASummaryAccessAndResponses) {
  for (const auto& op : documented()) {
    EXPECT_TRUE(op.has_summary) << op.name();
    EXPECT_TRUE(op.has_responses) << op.name();
    EXPECT_FALSE(op.access.empty()) << op.name() << " has no x-latchkey-access";
    for (const auto& who : op.access) {
      EXPECT_TRUE(kAccessNames.count(who)) << op.name() << ": unknown access " << who;
    }
    const bool anyone = op.allows("open") || op.allows("public");
    EXPECT_EQ(op.anyone, anyone) << op.name() << ": `security: []` exactly when open or public";
  }
}

// ---- the document against the server -----------------------------------------

TEST_F(OpenApiServerTest, EveryDocumentedOperationIsServed) {
  // Without a credential a protected route answers 401, an open or public
  // one runs; neither is 404 (no such route) or 405 (not this method).
  for (const auto& op : documented()) {
    auto reply = server->call(op.method, concrete(op.path), "", body_for(op));
    EXPECT_NE(reply.status, 0) << op.name() << ": no answer";
    EXPECT_NE(reply.status, 404) << op.name() << ": " << reply.body;
    EXPECT_NE(reply.status, 405) << op.name() << ": " << reply.body;
    if (op.anyone) {
      EXPECT_NE(reply.status, 401) << op.name() << " is documented as needing no credential";
    } else {
      EXPECT_EQ(reply.status, 401)
          << op.name() << " is documented as needing a credential: " << reply.body;
    }
  }
}

TEST_F(OpenApiServerTest, EveryServedRouteIsDocumented) {
  // /metrics names every route the server has, requested or not, in its
  // latency histogram: a route added to routes.cpp shows up here by itself.
  const auto served = served_routes(*server);
  ASSERT_TRUE(served.count({"GET", "/healthz"})) << "the metrics format changed";

  const auto in_document = documented_routes();
  for (const auto& route : served) {
    EXPECT_TRUE(in_document.count(route))
        << route.first << " " << route.second << " is served but not documented";
  }
  for (const auto& route : in_document) {
    EXPECT_TRUE(served.count(route))
        << route.first << " " << route.second << " is documented but not served";
  }
}

TEST_F(OpenApiServerTest, DocumentedAccessIsWhomTheServerLetsThrough) {
  const std::string t = std::string("/v1/t/") + kTenant;

  // Given a credential of every kind: the platform key, a key per role and a
  // guardian session that need not change its password.
  std::map<std::string, std::string> bearer;
  bearer["platform"] = server->platform_key();
  bearer["admin"] = admin;
  const std::vector<std::string> roles = {"staff", "registrar", "auditor"};
  for (const auto& role : roles) {
    auto issued = server->call("POST", t + "/api-keys", admin,
                               json{{"name", "OpenAPI " + role}, {"role", role}});
    ASSERT_EQ(issued.status, 201) << issued.body;
    bearer[role] = issued.json["key"].get<std::string>();
  }
  const std::string password = "Tall-Maple-Canoe-58";
  json guardian = {{"first_name", "Ada"},
                   {"last_name", "Rivers"},
                   {"email", "ada@example.com"},
                   {"password", password}};
  auto registered = server->call("POST", t + "/registrations", bearer["registrar"],
                                 json{{"family_name", "Rivers"}, {"guardians", {guardian}}});
  ASSERT_EQ(registered.status, 201) << registered.body;
  auto log_in = [&]() -> std::string {
    auto session = server->call("POST", t + "/sessions", "",
                                json{{"login", "ada@example.com"}, {"password", password}});
    EXPECT_EQ(session.status, 201) << session.body;
    return session.json.value("session_token", "");
  };
  bearer["guardian"] = log_in();
  ASSERT_FALSE(bearer["guardian"].empty());

  // When each calls each protected operation, then it is let through (any
  // answer but 401 unauthenticated or 403 forbidden) exactly when the
  // document lists it. A normal session stands for both guardian kinds.
  for (const auto& op : documented()) {
    if (op.anyone) continue;
    for (auto& [who, credential] : bearer) {
      const bool listed =
          op.allows(who) || (who == "guardian" && op.allows("guardian_must_change"));
      auto reply = server->call(op.method, concrete(op.path), credential, body_for(op));
      const bool let_through = reply.code() != "unauthenticated" && reply.code() != "forbidden";
      EXPECT_EQ(let_through, listed)
          << who << " on " << op.name() << ": " << reply.status << " " << reply.body;
      // Logging out ends the session the later checks use.
      if (who == "guardian" && op.method == "DELETE" && let_through) credential = log_in();
    }
  }
}

}  // namespace
}  // namespace latchkey
