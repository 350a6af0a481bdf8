// A tenant to fuzz against: keys of every role, a registered family with a
// guardian and a child, a policy, a guardian session; and the API's routes.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "app_harness.hpp"
#include "support/metrics_routes.hpp"

namespace latchkey::fuzz {

struct FuzzTenant {
  std::vector<std::string> credentials;  // "", platform, admin, staff, registrar, auditor, session
  std::string family, guardian, key_id;
  std::vector<std::pair<std::string, std::string>> routes;  // method, pattern

  explicit FuzzTenant(AppHarness& app) {
    using nlohmann::json;
    auto created = json::parse(app.call("POST", "/v1/tenants", app.platform_key(),
                                        json{{"id", "sunny"}, {"name", "Sunny Days"}}.dump()).body);
    const std::string admin = created["admin_key"]["key"];
    auto key = [&](const char* role) {
      auto r = json::parse(app.call("POST", "/v1/t/sunny/api-keys", admin, json{{"name", role}, {"role", role}}.dump()).body);
      return r["key"].get<std::string>();
    };
    const std::string staff = key("staff"), registrar = key("registrar"), auditor = key("auditor");
    key_id = staff.substr(staff.find('~') + 1, staff.find('.') - staff.find('~') - 1);
    auto reg = json::parse(app.call("POST", "/v1/t/sunny/registrations", registrar,
                                    json{{"family_name", "Rivera"},
                                         {"guardians", json::array({{{"first_name", "Ana"}, {"last_name", "Rivera"},
                                                                     {"email", "ana@example.com"},
                                                                     {"password", "Sunflower-42x"}}})},
                                         {"children", json::array({{{"child_id", "C-1"}, {"first_name", "Mia"},
                                                                    {"last_name", "Rivera"}}})}}
                                        .dump()).body);
    guardian = reg["guardian_ids"][0];
    auto read = json::parse(app.call("GET", "/v1/t/sunny/guardians/" + guardian + "?min_position=" +
                                         std::to_string(reg["position"].get<std::uint64_t>()),
                                     staff, "").body);
    family = read["family_id"];
    (void)app.call("POST", "/v1/t/sunny/policies", admin,
                   json{{"policy_id", "photo"}, {"title", "Photo"}, {"version", 1}, {"text", "t"}}.dump());
    auto session = json::parse(app.call("POST", "/v1/t/sunny/sessions", "",
                                        json{{"login", "ana@example.com"}, {"password", "Sunflower-42x"}}.dump()).body);
    credentials = {"", app.platform_key(), admin, staff, registrar, auditor, session.value("session_token", "")};

    // Every route, from the latency histogram /metrics keeps per route;
    // those that would take the fuzzer's own credentials away are left out.
    for (const auto& route : testing::routes_in_metrics(app.call("GET", "/metrics", "", "").body)) {
      if (route.first == "DELETE" || route.second.find("portal-login-resets") != std::string::npos ||
          route.second.find("can-log-in") != std::string::npos || route.second.find("/me/password") != std::string::npos) {
        continue;
      }
      routes.push_back(route);
    }
  }

  std::string target(const std::string& pattern) const {
    std::string out = pattern;
    auto put = [&](const std::string& name, const std::string& value) {
      for (std::size_t at; (at = out.find(name)) != std::string::npos;) out.replace(at, name.size(), value);
    };
    put("{t}", "sunny");
    put("{f}", family);
    put("{g}", guardian);
    put("{p}", "photo");
    put("{id}", key_id);
    return out;
  }
};

}  // namespace latchkey::fuzz
