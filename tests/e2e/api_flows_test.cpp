// End-to-end: every flow of the seeds, driven over HTTP against the real
// latchkeyd (127.0.0.1, a free port, a temp data dir, --dev-clock and the
// minimum Argon2id cost), with messages read back from the outbox file.
#include <gtest/gtest.h>

#include <cctype>
#include <map>

#include "support/latchkeyd.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;

constexpr const char* kPassword = "Sunflower-42x";
constexpr const char* kNewPassword = "Marigold-77q";

class ApiFlows : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<LatchkeydProcess>(
        dir, std::vector<std::string>{"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0",
                                      "--self-service-floor-ms", "20"});
    ASSERT_TRUE(server->ready()) << server->log();
    auto tenant = server->call("POST", "/v1/tenants", server->platform_key(),
                               json{{"id", "sunny"}, {"name", "Sunny Days"}});
    ASSERT_EQ(tenant.status, 201) << tenant.body;
    admin = tenant.json["admin_key"]["key"];
    staff = key("Front desk", "staff");
    registrar = key("Registration form", "registrar");
    auditor = key("Auditor", "auditor");
  }

  std::string key(const std::string& name, const std::string& role) {
    auto r = server->call("POST", "/v1/t/sunny/api-keys", admin, json{{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.value("key", "");
  }

  // Registers a family with one guardian holding a portal account; returns
  // the guardian id.
  std::string registered(const std::string& email, const std::string& first = "Ana",
                         const std::string& last = "Rivera", const std::string& child_id = "") {
    json body = {{"family_name", last},
                 {"guardians", json::array({{{"first_name", first},
                                             {"last_name", last},
                                             {"email", email},
                                             {"phone", "+15551230000"},
                                             {"password", kPassword}}})}};
    if (!child_id.empty()) {
      body["children"] = json::array({{{"child_id", child_id}, {"first_name", "Mia"}, {"last_name", last}}});
    }
    auto r = server->call("POST", "/v1/t/sunny/registrations", registrar, body);
    EXPECT_EQ(r.status, 201) << r.body;
    last_position = r.json.value("position", 0ULL);
    return r.json["guardian_ids"][0];
  }

  ApiReply log_in(const std::string& login, const std::string& password) {
    return server->call("POST", "/v1/t/sunny/sessions", "", json{{"login", login}, {"password", password}});
  }

  ApiReply guardian(const std::string& id, std::uint64_t min_position = 0) {
    return server->call("GET", "/v1/t/sunny/guardians/" + id + "?min_position=" + std::to_string(min_position),
                        staff);
  }

  // The outbox lines to `to`, waiting (up to 5 s) until there are `count`.
  std::vector<json> messages_to(const std::string& to, std::size_t count = 1) {
    std::vector<json> found;
    for (int i = 0; i < 500; ++i) {
      found.clear();
      std::istringstream lines(server->outbox());
      for (std::string line; std::getline(lines, line);) {
        auto m = json::parse(line, nullptr, false);
        if (m.is_object() && m["to"] == to) found.push_back(m);
      }
      if (found.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return found;
  }

  // What follows `marker` in `body`, up to the first character not in `allowed`.
  static std::string after(const std::string& body, const std::string& marker, bool (*allowed)(char)) {
    auto at = body.find(marker);
    EXPECT_NE(at, std::string::npos) << marker << " not in " << body;
    if (at == std::string::npos) return {};
    auto end = at + marker.size();
    while (end < body.size() && allowed(body[end])) ++end;
    return body.substr(at + marker.size(), end - at - marker.size());
  }
  static std::string token_in(const std::string& body) {
    return after(body, "reset?token=", [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; });
  }
  static std::string temporary_password_in(const std::string& body) {
    return after(body, "Temporary password: ", [](char c) { return c != '\n'; });
  }

  std::uint64_t head() {
    return server->call("GET", "/readyz").json.value("position", 0ULL);
  }

  TempDir dir;
  std::unique_ptr<LatchkeydProcess> server;
  std::string admin, staff, registrar, auditor;
  std::uint64_t last_position = 0;
};

TEST_F(ApiFlows, RegistrationThenFirstLoginAssignsTheLoginId) {
  auto g = registered("ana@example.com");
  auto before = guardian(g, last_position);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.json["login_id"], nullptr);
  EXPECT_EQ(before.json["status"], "active");

  auto session = log_in("ANA@example.com", kPassword);
  ASSERT_EQ(session.status, 201) << session.body;
  EXPECT_EQ(session.json["guardian_id"], g);
  EXPECT_EQ(session.json["must_change_password"], false);
  EXPECT_TRUE(session.json["expires_at"].is_string());

  auto after = guardian(g, session.json["position"]);
  EXPECT_EQ(after.json["login_id"], "ana@example.com");
  EXPECT_EQ(after.json["login_count"], 1);
  EXPECT_NE(after.json["last_login"], nullptr);
  auto me = server->call("GET", "/v1/t/sunny/me", session.json["session_token"]);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json["id"], g);
  // Nothing a staff member sees holds a hash.
  EXPECT_EQ(after.body.find("argon2"), std::string::npos) << after.body;
}

TEST_F(ApiFlows, ForgotPasswordSendsALinkThatRedeemsOnce) {
  registered("ana@example.com");
  auto asked = server->call("POST", "/v1/t/sunny/password-resets", "", json{{"login", "ana@example.com"}});
  EXPECT_EQ(asked.status, 202) << asked.body;
  EXPECT_FALSE(asked.json.contains("position")) << "a self-service answer tells nothing";
  auto unknown = server->call("POST", "/v1/t/sunny/password-resets", "", json{{"login", "nobody@example.com"}});
  EXPECT_EQ(unknown.status, 202);
  EXPECT_EQ(unknown.body, asked.body) << "known and unknown logins get the same answer";

  auto mail = messages_to("ana@example.com");
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_NE(mail[0]["body"].get<std::string>().find("Your User ID is"), std::string::npos);
  EXPECT_NE(mail[0]["body"].get<std::string>().find("valid for 30 minutes"), std::string::npos) << mail[0]["body"];
  const std::string token = token_in(mail[0]["body"]);

  auto redeemed = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                               json{{"token", token}, {"new_password", kNewPassword}});
  ASSERT_EQ(redeemed.status, 202) << redeemed.body;
  EXPECT_EQ(log_in("ana@example.com", kNewPassword).status, 201);
  EXPECT_EQ(log_in("ana@example.com", kPassword).status, 401);

  auto again = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                            json{{"token", token}, {"new_password", "Another-Pass-9"}});
  EXPECT_EQ(again.status, 410);
  EXPECT_EQ(again.code(), "token_used");
  auto notice = messages_to("ana@example.com", 2);
  ASSERT_EQ(notice.size(), 2u) << "a password change sends a notice";
  EXPECT_EQ(notice[1]["body"].get<std::string>().find(kNewPassword), std::string::npos);
}

TEST_F(ApiFlows, AnExpiredLinkIsRefusedWith410) {
  auto g = registered("ana@example.com");
  auto sent = server->call("POST", "/v1/t/sunny/guardians/" + g + "/reset-requests", staff, json{{"channel", "email"}});
  ASSERT_EQ(sent.status, 202) << sent.body;
  const std::string token = token_in(messages_to("ana@example.com")[0]["body"]);
  auto moved = server->call("POST", "/v1/dev/clock", "", json{{"advance_seconds", 31 * 60}});
  ASSERT_EQ(moved.status, 200) << moved.body;
  auto late = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                           json{{"token", token}, {"new_password", kNewPassword}});
  EXPECT_EQ(late.status, 410);
  EXPECT_EQ(late.code(), "token_expired");
}

TEST_F(ApiFlows, ANewerLinkSupersedesTheOlderOne) {
  auto g = registered("ana@example.com");
  const std::string path = "/v1/t/sunny/guardians/" + g + "/reset-requests";
  ASSERT_EQ(server->call("POST", path, staff, json{{"channel", "email"}}).status, 202);
  const std::string first = token_in(messages_to("ana@example.com", 1)[0]["body"]);
  ASSERT_EQ(server->call("POST", path, staff, json{{"channel", "email"}}).status, 202);
  const std::string second = token_in(messages_to("ana@example.com", 2)[1]["body"]);

  auto old = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                          json{{"token", first}, {"new_password", kNewPassword}});
  EXPECT_EQ(old.status, 410);
  EXPECT_EQ(old.code(), "token_superseded");
  auto bad = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                          json{{"token", "garbage"}, {"new_password", kNewPassword}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code(), "token_invalid");
  auto weak = server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                           json{{"token", second}, {"new_password", "short"}});
  EXPECT_EQ(weak.status, 422);
  EXPECT_EQ(weak.code(), "password_policy");
  EXPECT_TRUE(weak.json["unmet_rules"].is_array() && !weak.json["unmet_rules"].empty()) << weak.body;
  EXPECT_EQ(server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                         json{{"token", second}, {"new_password", kNewPassword}})
                .status,
            202);
}

TEST_F(ApiFlows, StaffSmsResetsNeedSmsEnabledAndSpendCredits) {
  auto g = registered("ana@example.com");
  const std::string path = "/v1/t/sunny/guardians/" + g + "/reset-requests";
  auto disabled = server->call("POST", path, staff, json{{"channel", "sms"}});
  EXPECT_EQ(disabled.status, 409);
  EXPECT_EQ(disabled.code(), "sms_disabled");

  ASSERT_EQ(server->call("PATCH", "/v1/t/sunny/settings", admin, json{{"sms_enabled", true}}).status, 202);
  auto broke = server->call("POST", path, staff, json{{"channel", "sms"}});
  EXPECT_EQ(broke.status, 402);
  EXPECT_EQ(broke.code(), "sms_credits_exhausted");

  ASSERT_EQ(server->call("POST", "/v1/t/sunny/sms-credits", admin, json{{"amount", 2}}).status, 201);
  auto sent = server->call("POST", path, staff, json{{"channel", "sms"}});
  ASSERT_EQ(sent.status, 202) << sent.body;
  auto sms = messages_to("+15551230000");
  ASSERT_EQ(sms.size(), 1u);
  EXPECT_EQ(sms[0]["channel"], "sms");
  EXPECT_LT(sms[0]["body"].get<std::string>().size(), 160u);

  auto credits = server->call("GET", "/v1/t/sunny/sms-credits?min_position=" + std::to_string(sent.json["position"].get<std::uint64_t>()), admin);
  ASSERT_EQ(credits.status, 200) << credits.body;
  EXPECT_EQ(credits.json["balance"], 1);
  EXPECT_GE(credits.json["ledger"].size(), 2u);
  // The staff answer holds no token.
  EXPECT_EQ(sent.body.find(token_in(sms[0]["body"])), std::string::npos);
  // Staff may not read the ledger (admin only).
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/sms-credits", staff).status, 403);
}

TEST_F(ApiFlows, ATemporaryPasswordOpensASessionThatMustChangeIt) {
  auto g = registered("ana@example.com");
  auto issued = server->call("POST", "/v1/t/sunny/guardians/" + g + "/temporary-password", staff);
  ASSERT_EQ(issued.status, 202) << issued.body;
  auto mail = messages_to("ana@example.com");
  ASSERT_EQ(mail.size(), 1u);
  const std::string temporary = temporary_password_in(mail[0]["body"]);
  EXPECT_EQ(issued.body.find(temporary), std::string::npos) << "staff never see it";
  EXPECT_NE(mail[0]["body"].get<std::string>().find("/login"), std::string::npos);

  auto session = log_in("ana@example.com", temporary);
  ASSERT_EQ(session.status, 201) << session.body;
  EXPECT_EQ(session.json["must_change_password"], true);
  const std::string token = session.json["session_token"];
  auto refused = server->call("PUT", "/v1/t/sunny/me/login-id", token, json{{"login_id", "ana.r"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.code(), "password_change_required");
  auto changed = server->call("POST", "/v1/t/sunny/me/password", token, json{{"new_password", kNewPassword}});
  ASSERT_EQ(changed.status, 202) << changed.body;
  EXPECT_EQ(log_in("ana@example.com", temporary).status, 401) << "a temporary password works once";
  EXPECT_EQ(log_in("ana@example.com", kNewPassword).json["must_change_password"], false);
}

TEST_F(ApiFlows, LoginIdChangeAndItsConflict) {
  registered("ana@example.com");
  registered("ben@example.com", "Ben", "Okafor");
  const std::string ana = log_in("ana@example.com", kPassword).json["session_token"];
  const std::string ben = log_in("ben@example.com", kPassword).json["session_token"];
  auto changed = server->call("PUT", "/v1/t/sunny/me/login-id", ana, json{{"login_id", "ana.rivera"}});
  ASSERT_EQ(changed.status, 202) << changed.body;
  auto taken = server->call("PUT", "/v1/t/sunny/me/login-id", ben, json{{"login_id", "ANA.Rivera"}});
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.code(), "login_id_taken");
  EXPECT_EQ(log_in("ana.rivera", kPassword).status, 201);
  auto invalid = server->call("PUT", "/v1/t/sunny/me/login-id", ben, json{{"login_id", "has space"}});
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.json["field"], "login_id");
}

TEST_F(ApiFlows, RepeatedFailuresLockTheAccount) {
  ASSERT_EQ(server->call("PATCH", "/v1/t/sunny/settings", admin,
                         json{{"lockout", {{"max_failures", 3}, {"lock_seconds", 600}}}})
                .status,
            202);
  auto g = registered("ana@example.com");
  for (int i = 0; i < 3; ++i) {
    auto r = log_in("ana@example.com", "Wrong-password-1");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "invalid_credentials");
  }
  auto locked = log_in("ana@example.com", kPassword);
  EXPECT_EQ(locked.status, 401) << "a locked account answers like a wrong password";
  auto state = guardian(g, head());
  EXPECT_EQ(state.json["status"], "locked") << state.body;
  EXPECT_TRUE(state.json["locked_until"].is_string());
  ASSERT_EQ(server->call("POST", "/v1/dev/clock", "", json{{"advance_seconds", 601}}).status, 200);
  EXPECT_EQ(log_in("ana@example.com", kPassword).status, 201);
}

TEST_F(ApiFlows, CanLogInOffEndsSessionsAndRefusesLogins) {
  auto g = registered("ana@example.com");
  const std::string token = log_in("ana@example.com", kPassword).json["session_token"];
  auto off = server->call("PUT", "/v1/t/sunny/guardians/" + g + "/can-log-in", staff, json{{"can_log_in", false}});
  ASSERT_EQ(off.status, 202) << off.body;
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/me", token).status, 401);
  EXPECT_EQ(log_in("ana@example.com", kPassword).status, 401);
  auto state = guardian(g, off.json["position"]);
  EXPECT_EQ(state.json["can_log_in"], false);
  auto staff_reset = server->call("POST", "/v1/t/sunny/guardians/" + g + "/reset-requests", staff,
                                  json{{"channel", "email"}});
  EXPECT_EQ(staff_reset.status, 409);
  EXPECT_EQ(staff_reset.code(), "login_not_allowed");
  ASSERT_EQ(server->call("PUT", "/v1/t/sunny/guardians/" + g + "/can-log-in", staff, json{{"can_log_in", true}}).status,
            202);
  EXPECT_EQ(log_in("ana@example.com", kPassword).status, 201);
}

TEST_F(ApiFlows, PortalLoginResetThenClaim) {
  auto g = registered("ana@example.com", "Ana", "Rivera", "C-1001");
  const std::string token = log_in("ana@example.com", kPassword).json["session_token"];
  auto reset = server->call("POST", "/v1/t/sunny/portal-login-resets", staff,
                            json{{"guardian_ids", {g, "no-such-guardian"}}});
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(reset.json["items"][0]["status"], "reset");
  EXPECT_EQ(reset.json["items"][1]["status"], "not_found");
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/me", token).status, 401) << "sessions are dropped";
  EXPECT_EQ(log_in("ana@example.com", kPassword).status, 401);
  EXPECT_EQ(guardian(g, reset.json["position"]).json["status"], "reset_required");

  auto wrong = server->call("POST", "/v1/t/sunny/account-claims", "",
                            json{{"login_id", "ana@example.com"}, {"child_id", "C-9999"}, {"first_name", "Ana"},
                                 {"last_name", "Rivera"}});
  auto claim = server->call("POST", "/v1/t/sunny/account-claims", "",
                            json{{"login_id", "ana@example.com"}, {"child_id", "C-1001"}, {"first_name", "Ana"},
                                 {"last_name", "Rivera"}});
  EXPECT_EQ(wrong.status, 202);
  EXPECT_EQ(claim.status, 202);
  EXPECT_EQ(wrong.body, claim.body) << "a claim answers the same either way";
  auto mail = messages_to("ana@example.com");
  ASSERT_EQ(mail.size(), 1u) << "only the matching claim sends a temporary password";
  auto session = log_in("ana@example.com", temporary_password_in(mail[0]["body"]));
  ASSERT_EQ(session.status, 201) << session.body;
  EXPECT_EQ(session.json["must_change_password"], true);
}

TEST_F(ApiFlows, PoliciesAcceptedElectronicallyAndOnPaper) {
  auto g = registered("ana@example.com");
  auto family_id = guardian(g, last_position).json["family_id"].get<std::string>();
  registered("ben@example.com", "Ben", "Okafor");
  auto published = server->call("POST", "/v1/t/sunny/policies", admin,
                                json{{"policy_id", "photo-consent"}, {"title", "Photo consent"}, {"version", 1},
                                     {"text", "We may take photos."}});
  ASSERT_EQ(published.status, 201) << published.body;
  const std::string token = log_in("ana@example.com", kPassword).json["session_token"];
  auto accepted = server->call("POST", "/v1/t/sunny/me/policies/photo-consent/acceptances", token, json{{"version", 1}});
  ASSERT_EQ(accepted.status, 201) << accepted.body;
  auto unknown = server->call("POST", "/v1/t/sunny/me/policies/nope/acceptances", token, json{{"version", 1}});
  EXPECT_EQ(unknown.status, 404);

  auto ben_family = server->call(
      "GET", "/v1/t/sunny/guardians?last_name_prefix=oka&min_position=" + std::to_string(last_position), staff);
  ASSERT_EQ(ben_family.status, 200) << ben_family.body;
  ASSERT_EQ(ben_family.json["items"].size(), 1u) << ben_family.body;
  const std::string okafor = ben_family.json["items"][0]["family_id"];
  auto no_reason = server->call("POST", "/v1/t/sunny/policies/photo-consent/manual-acceptances", staff,
                                json{{"family_id", okafor}, {"version", 1}});
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(no_reason.code(), "reason_required");
  auto manual = server->call("POST", "/v1/t/sunny/policies/photo-consent/manual-acceptances", staff,
                             json{{"family_id", okafor}, {"version", 1}, {"reason", "signed printed form on file"}});
  ASSERT_EQ(manual.status, 201) << manual.body;

  auto who = server->call("GET", "/v1/t/sunny/policies/photo-consent/acceptances?version=1&min_position=" +
                                     std::to_string(manual.json["position"].get<std::uint64_t>()),
                          auditor);
  ASSERT_EQ(who.status, 200) << who.body;
  ASSERT_EQ(who.json["items"].size(), 2u) << who.body;
  std::map<std::string, json> by_family;
  for (const auto& item : who.json["items"]) by_family[item["family_id"]] = item;
  EXPECT_EQ(by_family[family_id]["method"], "electronic");
  EXPECT_EQ(by_family[family_id]["accepted_by"]["kind"], "guardian");
  EXPECT_EQ(by_family[okafor]["method"], "manual");
  EXPECT_EQ(by_family[okafor]["accepted_by"]["kind"], "staff");
  EXPECT_EQ(by_family[okafor]["accepted_by"]["name"], "Front desk");
  EXPECT_EQ(by_family[okafor]["reason"], "signed printed form on file");

  auto outstanding = server->call("GET", "/v1/t/sunny/families/" + okafor + "/policies", staff);
  ASSERT_EQ(outstanding.status, 200) << outstanding.body;
  EXPECT_TRUE(outstanding.json["outstanding"].empty()) << outstanding.body;
}

TEST_F(ApiFlows, TheAuditLogIsForAuditorsAndAdminsAndHidesSecrets) {
  auto g = registered("ana@example.com");
  ASSERT_EQ(server->call("POST", "/v1/t/sunny/guardians/" + g + "/reset-requests", staff,
                         json{{"channel", "email"}})
                .status,
            202);
  const std::string token = token_in(messages_to("ana@example.com")[0]["body"]);
  auto audit = server->call("GET", "/v1/t/sunny/audit?subject=" + g + "&min_position=" + std::to_string(head()), auditor);
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_FALSE(audit.json["items"].empty());
  bool saw_reset = false;
  for (const auto& e : audit.json["items"]) {
    saw_reset |= e["type"] == "ResetRequested";
    if (e["actor"]["kind"] != "system") {
      EXPECT_EQ(e["source_ip"], "127.0.0.1") << e;  // the dispatcher acts on no request
    }
    EXPECT_FALSE(e["correlation_id"].get<std::string>().empty());
  }
  EXPECT_TRUE(saw_reset) << audit.body;
  EXPECT_EQ(audit.body.find(token.substr(token.find('.') + 1)), std::string::npos);
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/audit", staff).status, 403);
  // The history and the export start with the same entries (the dispatcher
  // may have recorded a delivery since, which only adds lines at the end).
  auto history = server->call("GET", "/v1/t/sunny/guardians/" + g + "/history", auditor);
  EXPECT_EQ(history.status, 200);
  ASSERT_GE(history.json["items"].size(), audit.json["items"].size());
  auto exported = server->call("GET", "/v1/t/sunny/audit/export?subject=" + g, admin);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.header("Content-Type"), "application/x-ndjson");
  std::istringstream lines(exported.body);
  std::string line;
  for (const auto& item : audit.json["items"]) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(json::parse(line), item);
    EXPECT_EQ(history.json["items"][&item - &audit.json["items"][0]], item);
  }
}

TEST_F(ApiFlows, StatusCodesOfSpec6) {
  auto g = registered("ana@example.com");
  // 401: no or a bad credential.
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians/" + g).status, 401);
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians/" + g, "lk_sunny~abc.def").status, 401);
  // 403: the wrong role.
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians/" + g, auditor).status, 403);
  EXPECT_EQ(server->call("POST", "/v1/t/sunny/api-keys", staff, json{{"name", "x"}, {"role", "admin"}}).status, 403);
  // 404: unknown ids, unknown routes.
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians/AAAAAAAAAAAAAAAAAAAAAA", staff).status, 404);
  EXPECT_EQ(server->call("GET", "/v1/nowhere").status, 404);
  // 405 with Allow.
  auto wrong_method = server->call("DELETE", "/v1/t/sunny/settings", admin);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.header("Allow").find("PATCH"), std::string::npos) << wrong_method.head;
  // 409: duplicates.
  auto duplicate = server->call("POST", "/v1/tenants", server->platform_key(), json{{"id", "sunny"}, {"name", "Again"}});
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(duplicate.code(), "tenant_exists");
  // 413, 415.
  EXPECT_EQ(server->call("POST", "/v1/t/sunny/families", staff, std::string(70 * 1024, ' ')).status, 413);
  EXPECT_EQ(server->call("POST", "/v1/t/sunny/families", staff, std::string("name=x"), Headers{{"Content-Type", "text/plain"}}).status, 415);
  // Every problem is application/problem+json with a code.
  auto p = server->call("GET", "/v1/t/sunny/guardians/" + g);
  EXPECT_EQ(p.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(p.code(), "unauthenticated");
  // A request id is echoed, or made.
  EXPECT_EQ(server->call("GET", "/healthz", "", std::string(), Headers{{"X-Request-Id", "abc-123"}}).header("X-Request-Id"), "abc-123");
  EXPECT_FALSE(server->call("GET", "/healthz").header("X-Request-Id").empty());
}

TEST_F(ApiFlows, StaffCannotSetAGuardiansPassword) {
  json body = {{"family_name", "Rivera"},
               {"guardians", json::array({{{"first_name", "Ana"},
                                           {"last_name", "Rivera"},
                                           {"email", "ana@example.com"},
                                           {"password", kPassword}}})}};
  auto r = server->call("POST", "/v1/t/sunny/registrations", staff, body);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "staff_cannot_set_password");
  EXPECT_EQ(r.json["field"], "guardians[0].password");
}

TEST_F(ApiFlows, TenantsAreIsolated) {
  auto g = registered("ana@example.com");
  auto other = server->call("POST", "/v1/tenants", server->platform_key(), json{{"id", "acme-gym"}, {"name", "Acme Gym"}});
  ASSERT_EQ(other.status, 201);
  const std::string other_admin = other.json["admin_key"]["key"];
  // Another tenant's key on this tenant's routes: as if the tenant did not exist.
  auto foreign = server->call("GET", "/v1/t/sunny/settings", other_admin);
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  // This tenant's guardian under the other tenant: not found.
  auto other_staff = server->call("POST", "/v1/t/acme-gym/api-keys", other_admin, json{{"name", "Desk"}, {"role", "staff"}});
  ASSERT_EQ(other_staff.status, 201);
  EXPECT_EQ(server->call("GET", "/v1/t/acme-gym/guardians/" + g, other_staff.json["key"]).status, 404);
  // A revoked key stops working at once.
  const std::string id = other_staff.json["id"];
  ASSERT_EQ(server->call("DELETE", "/v1/t/acme-gym/api-keys/" + id, other_admin).status, 202);
  EXPECT_EQ(server->call("GET", "/v1/t/acme-gym/guardians/" + g, other_staff.json["key"]).status, 401);
}

TEST_F(ApiFlows, IdempotencyKeyReplaysTheFirstAnswer) {
  const Headers key = {{"Idempotency-Key", "family-rivera-1"}};
  auto first = server->call("POST", "/v1/t/sunny/families", staff, json{{"name", "Rivera"}}, key);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto after_first = head();
  auto second = server->call("POST", "/v1/t/sunny/families", staff, json{{"name", "Rivera"}}, key);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(head(), after_first) << "a replay appends nothing";
  auto other = server->call("POST", "/v1/t/sunny/families", staff, json{{"name", "Okafor"}}, key);
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(other.code(), "idempotency_key_reused");
}

TEST_F(ApiFlows, BadInputGets4xxAndChangesNothing) {
  const auto before = head();
  struct Case {
    std::string what, body;
    int status;
    std::string field;
  };
  std::string deep(40, '[');
  deep += std::string(40, ']');
  const std::vector<Case> cases = {
      {"malformed JSON", R"({"name": )", 400, ""},
      {"not an object", R"(["Rivera"])", 400, ""},
      {"wrong type", R"({"name": 42})", 400, "name"},
      {"missing field", R"({})", 400, "name"},
      {"unknown field", R"({"name":"Rivera","admin":true})", 400, "admin"},
      {"bad UTF-8", "{\"name\":\"Riv\xff\xfe" "ra\"}", 400, ""},
      {"deep nesting", R"({"name":)" + deep + "}", 400, ""},
      {"oversized field", R"({"name":")" + std::string(5000, 'x') + R"("})", 400, "name"},
      {"control character", "{\"name\":\"Riv\\u0000era\"}", 400, "name"},
  };
  for (const auto& c : cases) {
    auto r = server->call("POST", "/v1/t/sunny/families", staff, c.body);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << c.what;
    if (!c.field.empty()) {
      EXPECT_EQ(r.json["field"], c.field) << c.what << ": " << r.body;
    }
  }
  // Huge headers, a body over 64 KiB, garbage bytes.
  auto huge = raw_exchange(server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') +
                                               "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(huge.status, 431);
  auto garbage = raw_exchange(server->port(), "\x16\x03\x01 not http at all\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians?limit=0", staff).status, 400);
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians?min_position=-1", staff).status, 400);
  EXPECT_EQ(server->call("GET", "/v1/t/sunny/guardians?last_name_prefix=%zz", staff).status, 400);
  EXPECT_EQ(head(), before) << "bad input appended nothing";
}

TEST(ApiLimits, PublicRoutesAreRateLimitedPerSourceIp) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "6",
                                "--public-rate-burst", "3", "--self-service-floor-ms", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  ASSERT_EQ(server.call("POST", "/v1/tenants", server.platform_key(), json{{"id", "sunny"}, {"name", "Sunny"}}).status, 201);
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    auto r = server.call("POST", "/v1/t/sunny/password-resets", "", json{{"login", "nobody@example.com"}});
    if (r.status == 429) {
      ++limited;
      retry_after = r.header("Retry-After");
      EXPECT_EQ(r.code(), "rate_limited");
    } else {
      EXPECT_EQ(r.status, 202);
    }
  }
  EXPECT_EQ(limited, 3) << "a burst of 3, then 429";
  EXPECT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  // Staff routes are not limited by it.
  EXPECT_EQ(server.call("GET", "/healthz").status, 200);
}

TEST(ApiLimits, SelfServiceAnswersWaitForTheFloor) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0",
                                "--self-service-floor-ms", "300"});
  ASSERT_TRUE(server.ready());
  ASSERT_EQ(server.call("POST", "/v1/tenants", server.platform_key(), json{{"id", "sunny"}, {"name", "Sunny"}}).status, 201);
  auto started = std::chrono::steady_clock::now();
  auto r = server.call("POST", "/v1/t/sunny/password-resets", "", json{{"login", "nobody@example.com"}});
  EXPECT_EQ(r.status, 202);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(290));
}

TEST(ApiRestart, DataSurvivesARestart) {
  TempDir dir;
  std::string key, g;
  {
    LatchkeydProcess server(dir, {"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0"});
    ASSERT_TRUE(server.ready());
    auto t = server.call("POST", "/v1/tenants", server.platform_key(), json{{"id", "sunny"}, {"name", "Sunny"}});
    key = t.json["admin_key"]["key"];
    auto staff = server.call("POST", "/v1/t/sunny/api-keys", key, json{{"name", "Desk"}, {"role", "staff"}});
    key = staff.json["key"];
    auto f = server.call("POST", "/v1/t/sunny/families", key, json{{"name", "Rivera"}});
    auto added = server.call("POST", "/v1/t/sunny/families/" + f.json["family_id"].get<std::string>() + "/guardians",
                             key, json{{"first_name", "Ana"}, {"last_name", "Rivera"}, {"email", "ana@example.com"}});
    ASSERT_EQ(added.status, 201);
    g = added.json["guardian_id"];
    EXPECT_EQ(server.stop(), 0);
  }
  LatchkeydProcess again(dir, {"--dev-clock", "--password-hash-cost", "test"}, "again.log");
  ASSERT_TRUE(again.ready()) << again.log();
  auto r = again.call("GET", "/v1/t/sunny/guardians/" + g, key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["email"], "ana@example.com");
  EXPECT_EQ(again.log().find(key.substr(key.find('.') + 1)), std::string::npos) << "no key in the log";
}

TEST(ApiStart, TestHashCostNeedsTheDevClock) {
  TempDir dir;
  ChildProcess p(LATCHKEYD, {"--data", dir.str("data"), "--password-hash-cost", "test"}, dir.str("out.log"));
  EXPECT_EQ(p.wait(), 2);
  EXPECT_NE(slurp(dir.str("out.log")).find("--dev-clock"), std::string::npos);
}

}  // namespace
}  // namespace latchkey

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;

// Starts a tenant with one registered guardian (password "Sunflower-42x").
void seed_login(const LatchkeydProcess& server) {
  auto t = server.call("POST", "/v1/tenants", server.platform_key(), json{{"id", "sunny"}, {"name", "Sunny"}});
  ASSERT_EQ(t.status, 201) << t.body;
  auto registrar = server.call("POST", "/v1/t/sunny/api-keys", t.json["admin_key"]["key"].get<std::string>(),
                               json{{"name", "Form"}, {"role", "registrar"}});
  auto r = server.call("POST", "/v1/t/sunny/registrations", registrar.json["key"].get<std::string>(),
                       json{{"family_name", "Rivera"},
                            {"guardians", json::array({{{"first_name", "Ana"},
                                                        {"last_name", "Rivera"},
                                                        {"email", "ana@example.com"},
                                                        {"password", "Sunflower-42x"}}})}});
  ASSERT_EQ(r.status, 201) << r.body;
}

TEST(ApiOverload, AFullHashQueueAnswers503WithRetryAfter) {
  TempDir dir;
  // One hashing worker, one waiting slot, the real (interactive) Argon2id cost.
  LatchkeydProcess server(dir, {"--hash-workers", "1", "--hash-queue", "1", "--public-rate-limit", "0"});
  ASSERT_TRUE(server.ready()) << server.log();
  seed_login(server);
  std::vector<std::thread> clients;
  std::vector<ApiReply> replies(8);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    clients.emplace_back([&, i] {
      replies[i] = server.call("POST", "/v1/t/sunny/sessions", "",
                               json{{"login", "ana@example.com"}, {"password", "Sunflower-42x"}});
    });
  }
  for (auto& t : clients) t.join();
  int ok = 0, busy = 0;
  for (const auto& r : replies) {
    if (r.status == 201) ++ok;
    if (r.status == 503) {
      ++busy;
      EXPECT_EQ(r.header("Retry-After"), "1");
      EXPECT_EQ(r.code(), "overloaded");
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1) << "8 logins at once cannot all wait for one worker with one slot";
  EXPECT_EQ(ok + busy, 8);
  // The I/O threads stayed free meanwhile.
  EXPECT_EQ(server.call("GET", "/healthz").status, 200);
}

TEST(ApiShutdown, SigtermAnswersTheRequestsInFlight) {
  TempDir dir;
  LatchkeydProcess server(dir, {"--public-rate-limit", "0"});
  ASSERT_TRUE(server.ready());
  seed_login(server);
  ApiReply login;
  std::thread client([&] {
    login = server.call("POST", "/v1/t/sunny/sessions", "", json{{"login", "ana@example.com"}, {"password", "Sunflower-42x"}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(15));  // the login is hashing now
  EXPECT_EQ(server.stop(), 0);
  client.join();
  EXPECT_EQ(login.status, 201) << "an in-flight request is answered before the server exits";
}

}  // namespace
}  // namespace latchkey
