// End-to-end delivery (issue 6): the real latchkeyd sends email to a real
// SMTP server (aiosmtpd, from Debian's python3-aiosmtpd) and SMS to an HTTP
// webhook, both started here on 127.0.0.1 by tests/e2e/sink.py, which writes
// what it receives, decoded as a mail client would, one JSON line each.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <random>
#include <set>

#include "support/api_tenant.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "Sunflower-42x";

// sink.py as a child process, stopped by its own PID.
class Sink {
 public:
  Sink(const TempDir& dir, const std::string& kind, std::uint16_t port, std::vector<std::string> extra = {})
      : out_(dir.str(kind + "-" + std::to_string(port) + ".jsonl")) {
    std::vector<std::string> args = {LATCHKEY_SINK, kind, std::to_string(port), out_};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>("/usr/bin/python3", args, out_ + ".log");
    // Its own listener, not another test's on the same port (that would
    // take this test's messages).
    for (int i = 0; i < 1000 && !listens_on(process_->pid(), port); ++i) {
      if (has_exited(process_->pid())) break;
      std::this_thread::sleep_for(10ms);
    }
    if (!listens_on(process_->pid(), port)) {
      ADD_FAILURE() << kind << " sink not listening on " << port << ": " << log();
    }
  }
  ~Sink() { process_->signal_and_wait(SIGTERM); }

  // What the sink printed (its start-up, and any error).
  std::string log() const { return slurp(out_ + ".log"); }

  std::vector<json> received() const {
    std::vector<json> all;
    std::istringstream lines(slurp(out_));
    for (std::string line; std::getline(lines, line);) {
      auto m = json::parse(line, nullptr, false);
      if (m.is_object()) all.push_back(std::move(m));
    }
    return all;
  }
  // Waits (up to `limit`) until at least `count` messages arrived.
  std::vector<json> wait_for(std::size_t count, std::chrono::milliseconds limit = 15s) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto all = received();
    while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      all = received();
    }
    return all;
  }

 private:
  std::string out_;
  std::unique_ptr<ChildProcess> process_;
};


class Delivery : public ::testing::Test {
 protected:
  // latchkeyd sending mail to smtp_port and SMS to http_port (nothing need
  // listen there yet).
  void start(const std::string& log = "server.log") {
    std::vector<std::string> args{"--dev-clock", "--password-hash-cost", "test", "--public-rate-limit", "0",
                                 "--self-service-floor-ms", "0", "--mail",
                                 "smtp://127.0.0.1:" + std::to_string(smtp_port), "--mail-from",
                                 "no-reply@sunny.example", "--sms",
                                 sms_target.empty() ? "http://127.0.0.1:" + std::to_string(http_port) + "/sms"
                                                    : sms_target,
};
    // Without a CA file an https:// gateway is checked against the system's CAs.
    if (!sms_ca_file.empty()) args.insert(args.end(), {"--sms-ca-file", sms_ca_file});
    server = std::make_unique<LatchkeydProcess>(dir, args, log);
    ASSERT_TRUE(server->ready()) << server->log();
  }

  void SetUp() override {
    start();
    auto tenant = server->call("POST", "/v1/tenants", server->platform_key(),
                               json{{"id", "sunny"}, {"name", "Sunny Days Crèche"}});
    ASSERT_EQ(tenant.status, 201) << tenant.body;
    admin = tenant.json["admin_key"]["key"];
    for (auto [name, role, out] : {std::tuple{"Front desk", "staff", &staff}, {"Form", "registrar", &registrar}}) {
      auto r = server->call("POST", "/v1/t/sunny/api-keys", admin, json{{"name", name}, {"role", role}});
      ASSERT_EQ(r.status, 201) << r.body;
      *out = r.json["key"];
    }
    settings(json{{"max_reset_requests_per_hour", 100}});
  }

  void settings(const json& patch) {
    auto r = server->call("PATCH", "/v1/t/sunny/settings", admin, patch);
    ASSERT_EQ(r.status, 202) << r.body;
  }

  std::string registered(const std::string& email, const std::string& first = "Ana") {
    json body = {{"family_name", "Rivera"},
                 {"guardians", json::array({{{"first_name", first},
                                             {"last_name", "Rivera"},
                                             {"email", email},
                                             {"phone", "+15551230000"},
                                             {"password", kPassword}}})}};
    auto r = server->call("POST", "/v1/t/sunny/registrations", registrar, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json["guardian_ids"][0];
  }

  ApiReply reset(const std::string& guardian, const std::string& channel = "email") {
    return server->call("POST", "/v1/t/sunny/guardians/" + guardian + "/reset-requests", staff,
                        json{{"channel", channel}});
  }

  ApiReply redeem(const std::string& token) {
    return server->call("POST", "/v1/t/sunny/password-resets/redeem", "",
                        json{{"token", token}, {"new_password", "Marigold-77q"}});
  }

  // The audit trail's events of one type.
  std::vector<json> audit(const std::string& type) {
    const auto head = server->call("GET", "/readyz").json.value("position", 0ULL);
    auto r = server->call("GET", "/v1/t/sunny/audit?type=" + type + "&limit=1000&min_position=" +
                                     std::to_string(head),
                          admin);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json> found;
    for (const auto& e : r.json["items"]) {
      if (e.value("type", "") == type) found.push_back(e);
    }
    return found;
  }

  // Whether a final NotificationFailed with this reason is recorded, waiting
  // up to 10 s: a message is dropped at its next attempt, which may come
  // after a backoff.
  bool given_up_for(const std::string& reason) {
    for (int i = 0; i < 200; ++i) {
      for (const auto& e : audit("NotificationFailed")) {
        if (e["summary"].get<std::string>().ends_with("given up): " + reason)) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  TempDir dir;
  std::uint16_t smtp_port = free_port();
  std::uint16_t http_port = free_port();
  std::string sms_target;   // empty: http://127.0.0.1:http_port/sms
  std::string sms_ca_file;
  std::unique_ptr<LatchkeydProcess> server;
  std::string admin, staff, registrar;
};

TEST_F(Delivery, EmailArrivesIntactOverSmtp) {
  Sink smtp(dir, "smtp", smtp_port);
  // A custom template whose body has lines starting with dots (SMTP
  // transparency), non-ASCII text in subject and body, and a long line.
  settings(json{{"templates",
                 {{"reset_link.email",
                   {{"subject", "Réinitialiser votre mot de passe — {tenant_name}"},
                    {"body", ".\n..two dots\nBonjour {first_name} ☀\n{link}\nValable {expires_in}.\n" +
                                 std::string(200, 'x') + " \n"}}}}}});
  auto g = registered("zoe@example.com", "Zoë");
  auto r = reset(g);
  ASSERT_EQ(r.status, 202) << r.body;

  auto mail = smtp.wait_for(1);
  ASSERT_EQ(mail.size(), 1u) << server->log();
  const auto& m = mail[0];
  EXPECT_EQ(m["mail_from"], "no-reply@sunny.example");
  EXPECT_EQ(m["rcpt_tos"], json::array({"zoe@example.com"}));
  EXPECT_EQ(m["to"], "zoe@example.com");
  EXPECT_EQ(m["from"], "Sunny Days Crèche <no-reply@sunny.example>");
  EXPECT_EQ(m["subject"], "Réinitialiser votre mot de passe — Sunny Days Crèche");
  EXPECT_EQ(m["charset"], "utf-8");
  EXPECT_EQ(m["defects"], 0);
  EXPECT_NE(m["date"], "None");
  const std::string id = m["x_message_id"];
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(m["message_id"], "<" + id + "@sunny.example>");
  const std::string body = m["body"];
  const std::string token = reset_token_in(body);
  ASSERT_FALSE(token.empty()) << body;
  EXPECT_EQ(body, ".\n..two dots\nBonjour Zoë ☀\nhttp://localhost:8080/portal/reset?token=" + token +
                      "\nValable 30 minutes.\n" + std::string(200, 'x') + " \n");
  // What arrived works, once.
  EXPECT_EQ(redeem(token).status, 202);
  EXPECT_EQ(redeem(token).status, 410);
  // Recorded as sent, with the recipient masked and no secret.
  auto sent = audit("NotificationSent");
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().dump().find(token), std::string::npos);
  EXPECT_EQ(sent.back().dump().find("zoe@example.com"), std::string::npos);
}

TEST_F(Delivery, DefaultEmailReadsWellForAParent) {
  Sink smtp(dir, "smtp", smtp_port);
  auto g = registered("ana@example.com");
  ASSERT_EQ(reset(g).status, 202);
  auto mail = smtp.wait_for(1);
  ASSERT_EQ(mail.size(), 1u) << server->log();
  EXPECT_EQ(mail[0]["subject"], "Reset your Sunny Days Crèche portal password");
  const std::string body = mail[0]["body"];
  EXPECT_EQ(body.rfind("Hi Ana,\n", 0), 0u) << body;
  EXPECT_NE(body.find("Your User ID is: ana@example.com"), std::string::npos) << body;
  EXPECT_NE(body.find("This link is valid for 30 minutes"), std::string::npos) << body;
}

TEST_F(Delivery, ServerDownAtFirstThenUpStillDelivers) {
  auto g = registered("ana@example.com");
  ASSERT_EQ(reset(g).status, 202);
  // Nothing listens yet: the first attempt fails and is recorded as such.
  for (int i = 0; i < 300 && audit("NotificationFailed").empty(); ++i) std::this_thread::sleep_for(10ms);
  auto failed = audit("NotificationFailed");
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed[0]["summary"].get<std::string>().find("given up"), std::string::npos) << failed[0];
  Sink smtp(dir, "smtp", smtp_port);
  auto mail = smtp.wait_for(1, 20s);
  ASSERT_EQ(mail.size(), 1u) << server->log();
  EXPECT_EQ(redeem(reset_token_in(mail[0]["body"])).status, 202);
}

TEST_F(Delivery, ExpiredLinkIsNeverSent) {
  settings(json{{"reset_link_ttl_seconds", 60}});
  auto early = registered("early@example.com");
  auto later = registered("later@example.com", "Bo");
  ASSERT_EQ(reset(early).status, 202);
  // The server is down while the link expires.
  auto r = server->call("POST", "/v1/dev/clock", "", json{{"advance_seconds", 120}});
  ASSERT_EQ(r.status, 200) << r.body;
  Sink smtp(dir, "smtp", smtp_port);
  ASSERT_EQ(reset(later).status, 202);
  auto mail = smtp.wait_for(1, 20s);
  ASSERT_EQ(mail.size(), 1u) << server->log();
  std::this_thread::sleep_for(300ms);
  mail = smtp.received();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["to"], "later@example.com");
  EXPECT_TRUE(given_up_for("expired before delivery"));
}

TEST_F(Delivery, SupersededLinkIsNeverSent) {
  auto g = registered("ana@example.com");
  ASSERT_EQ(reset(g).status, 202);
  ASSERT_EQ(reset(g).status, 202);  // the first link is superseded before it could go out
  auto other = registered("bo@example.com", "Bo");
  Sink smtp(dir, "smtp", smtp_port);
  ASSERT_EQ(reset(other).status, 202);  // delivered after both of Ana's were decided
  auto mail = smtp.wait_for(2, 20s);
  std::this_thread::sleep_for(300ms);
  mail = smtp.received();
  ASSERT_EQ(mail.size(), 2u) << server->log();
  // Ana's newest link may come after Bo's: it waits out the backoff of its
  // failed first attempt.
  const auto& to_ana = mail[0]["to"] == "ana@example.com" ? mail[0] : mail[1];
  EXPECT_EQ(to_ana["to"], "ana@example.com");
  EXPECT_NE(mail[0]["to"], mail[1]["to"]);
  EXPECT_EQ(redeem(reset_token_in(to_ana["body"])).status, 202);  // the one that went out is the newest
  EXPECT_TRUE(given_up_for("superseded before delivery"));
  int links_to_ana = 0;
  for (const auto& m : smtp.received()) {
    links_to_ana += m["to"] == "ana@example.com" && !reset_token_in(m["body"]).empty();
  }
  EXPECT_EQ(links_to_ana, 1) << "the superseded link was sent";
}

TEST_F(Delivery, SmsWebhookReceivesJsonAndRetriesAGatewayError) {
  Sink webhook(dir, "http", http_port, {"--fail-first", "1"});
  settings(json{{"sms_enabled", true}});
  ASSERT_EQ(server->call("POST", "/v1/t/sunny/sms-credits", admin, json{{"amount", 5}}).status, 201);
  auto g = registered("ana@example.com");
  auto r = reset(g, "sms");
  ASSERT_EQ(r.status, 202) << r.body;
  auto calls = webhook.wait_for(2, 20s);
  ASSERT_EQ(calls.size(), 2u) << server->log();
  EXPECT_EQ(calls[0]["answered"], 503);
  EXPECT_EQ(calls[1]["answered"], 200);
  const auto& call = calls[1];
  EXPECT_EQ(call["path"], "/sms");
  EXPECT_EQ(call["headers"]["content-type"], "application/json");
  const auto& sms = call["json"];
  EXPECT_EQ(sms.size(), 3u) << sms.dump();
  EXPECT_EQ(sms["to"], "+15551230000");
  EXPECT_EQ(call["headers"]["idempotency-key"], sms["message_id"]);
  EXPECT_EQ(call["headers"]["x-latchkey-message-id"], sms["message_id"]);
  EXPECT_EQ(calls[0]["json"]["message_id"], sms["message_id"]);  // the retry is the same message
  const std::string body = sms["body"];
  EXPECT_LT(body.size(), 160u);
  EXPECT_EQ(redeem(reset_token_in(body)).status, 202);
}

TEST_F(Delivery, SmsOverHttpsVerifiesTheGatewaysCertificate) {
  // A gateway whose certificate (for localhost) is trusted only through
  // --sms-ca-file.
  const std::string cert = dir.str("gateway.pem"), key = dir.str("gateway.key");
  ChildProcess openssl("/usr/bin/openssl",
                       {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                       dir.str("openssl.log"));
  ASSERT_EQ(openssl.wait(), 0) << openssl.output();
  Sink webhook(dir, "http", http_port, {"--cert", cert, "--key", key});
  settings(json{{"sms_enabled", true}});
  ASSERT_EQ(server->call("POST", "/v1/t/sunny/sms-credits", admin, json{{"amount", 5}}).status, 201);
  auto g = registered("ana@example.com");
  const std::string url = "https://localhost:" + std::to_string(http_port) + "/sms";

  // Not trusted (the system's CAs know nothing of it): the handshake fails, nothing is sent.
  ASSERT_EQ(server->stop(), 0);
  sms_target = url;
  start("untrusted.log");
  ASSERT_EQ(reset(g, "sms").status, 202);
  for (int i = 0; i < 500 && audit("NotificationFailed").empty(); ++i) std::this_thread::sleep_for(10ms);
  auto failed = audit("NotificationFailed");
  ASSERT_FALSE(failed.empty()) << server->log();
  EXPECT_NE(failed[0]["summary"].get<std::string>().find("TLS handshake"), std::string::npos) << failed[0];
  EXPECT_TRUE(webhook.received().empty());

  // Trusted: the waiting text goes out over TLS.
  ASSERT_EQ(server->stop(), 0);
  sms_ca_file = cert;
  start("trusted.log");
  auto calls = webhook.wait_for(1, 20s);
  ASSERT_EQ(calls.size(), 1u) << server->log();
  EXPECT_EQ(calls[0]["json"]["to"], "+15551230000");
  EXPECT_EQ(redeem(reset_token_in(calls[0]["json"]["body"])).status, 202);
}

TEST_F(Delivery, ReplayingTheLogSendsNothingAndSpendsNoCredit) {
  Sink smtp(dir, "smtp", smtp_port);
  Sink webhook(dir, "http", http_port);
  settings(json{{"sms_enabled", true}});
  ASSERT_EQ(server->call("POST", "/v1/t/sunny/sms-credits", admin, json{{"amount", 5}}).status, 201);
  auto g = registered("ana@example.com");
  // One after the other: the email's link supersedes the text's, and a text
  // not yet sent by then is dropped, not sent.
  ASSERT_EQ(reset(g, "sms").status, 202);
  ASSERT_EQ(webhook.wait_for(1).size(), 1u) << server->log() << webhook.log();
  ASSERT_EQ(reset(g, "email").status, 202);
  ASSERT_EQ(smtp.wait_for(1).size(), 1u) << server->log() << smtp.log();
  auto balance = server->call("GET", "/v1/t/sunny/sms-credits", admin).json["balance"];
  EXPECT_EQ(balance, 4);
  ASSERT_EQ(server->stop(), 0);

  // Every read model rebuilt from the log, by the replay tool and by a
  // server started without them.
  std::filesystem::remove_all(server->data_dir() + "/readmodels");
  ChildProcess rebuild(LATCHKEY_REPLAY, {"rebuild", "--data", server->data_dir()}, dir.str("rebuild.log"));
  ASSERT_EQ(rebuild.wait(), 0) << rebuild.output();
  std::filesystem::remove_all(server->data_dir() + "/readmodels");
  start("restarted.log");
  auto after = server->call("GET", "/v1/t/sunny/sms-credits?min_position=1", admin);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json["balance"], 4);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(smtp.received().size(), 1u);
  EXPECT_EQ(webhook.received().size(), 1u);
}

// Bar: zero lost messages, and none sent twice except across a crash, with
// the server killed 20 times mid-delivery.
TEST_F(Delivery, KilledTwentyTimesMidDeliveryLosesNothing) {
  constexpr int kGuardians = 100;
  constexpr int kKills = 20;
  std::set<std::string> expected;
  for (int i = 0; i < kGuardians; ++i) {
    const std::string email = "parent" + std::to_string(i) + "@example.com";
    auto g = registered(email);
    ASSERT_EQ(reset(g).status, 202);
    expected.insert(email);
  }
  // The SMTP server comes up slow (50 ms before each 250) while the
  // messages wait; then the sender is killed at random moments.
  Sink smtp(dir, "smtp", smtp_port, {"--delay-ms", "50"});
  std::mt19937 rng(20261123);
  std::size_t before_final = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    if (kill > 0) start("run" + std::to_string(kill) + ".log");
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
    ASSERT_EQ(server->process().signal_and_wait(SIGKILL), 128 + SIGKILL);
  }
  before_final = smtp.received().size();
  start("final.log");
  std::vector<json> mail;
  std::map<std::string, int> copies;
  std::set<std::string> recipients;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    mail = smtp.received();
    recipients.clear();
    for (const auto& m : mail) recipients.insert(m["to"].get<std::string>());
    if (recipients.size() == expected.size()) break;
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(500ms);
  mail = smtp.received();
  for (const auto& m : mail) ++copies[m["x_message_id"].get<std::string>()];
  EXPECT_EQ(recipients, expected) << "lost messages";
  EXPECT_EQ(copies.size(), expected.size());
  std::size_t duplicates = mail.size() - copies.size();
  EXPECT_LE(duplicates, static_cast<std::size_t>(kKills)) << "more re-sends than crashes";
  // One message can be in flight at two crashes in a row (re-sent first
  // after a restart, killed again mid-send): each crash adds at most one copy.
  for (const auto& [id, n] : copies) EXPECT_LE(n - 1, kKills) << id;
  // The kills happened mid-delivery: some but not all had gone out.
  EXPECT_GT(before_final, 0u);
  EXPECT_LT(before_final, mail.size());
  std::cout << "delivered " << copies.size() << " messages in " << mail.size() << " sends across " << kKills
            << " kills (" << before_final << " before the last start)\n";
}

}  // namespace
}  // namespace latchkey
