// The outbox dispatcher over real command histories on a real RocksDB store,
// with transports that record what they are handed (or fail as told).
#include <gtest/gtest.h>

#include "../commands/harness.hpp"
#include "latchkey/notifications/dispatcher.hpp"
#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {
namespace {

using testing::Harness;

class RecordingTransport final : public Transport {
 public:
  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros) override {
    ++attempts;
    if (!fail_with.empty()) return make_error(fail_with, "told to fail");
    sent.push_back(m);
    return {};
  }
  std::vector<domain::OutboxMessage> sent;
  std::string fail_with;  // kDeliveryFailed or kDeliveryRejected
  int attempts = 0;
};

struct Fixture {
  Fixture() {
    h.given_tenant(R"({"sms_enabled":true,"max_reset_requests_per_hour":100})");
    EXPECT_TRUE(h.handlers->add_sms_credits(h.admin(), {5}).ok());
    options.still_current = [this](const domain::OutboxMessage& m, domain::Micros now) {
      return h.handlers->message_still_current(m, now);
    };
    options.first_retry_us = 10 * domain::kMicrosPerSecond;
  }
  Dispatcher dispatcher() { return Dispatcher(*h.store, h.clock, h.random, mail, sms, options); }
  std::string reset(const std::string& guardian, const std::string& channel = "email") {
    auto r = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{guardian, channel});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return guardian;
  }
  // The NotificationFailed events since `after`.
  std::vector<domain::NotificationFailed> failures(std::uint64_t after = 0) {
    return h.decoded_of<domain::NotificationFailed>(after);
  }

  Harness h;
  RecordingTransport mail, sms;
  DispatcherOptions options;
};

TEST(Dispatcher, DeliversRecordsAndDeletesWithoutASecretInTheLog) {
  Fixture f;
  auto g = f.h.given_registered_guardian();
  auto before = f.h.head();
  f.reset(g);
  auto token = f.h.last_reset_token("ana@example.com");
  auto d = f.dispatcher();
  auto n = d.run_once();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  ASSERT_EQ(f.mail.sent.size(), 1u);
  EXPECT_NE(f.mail.sent[0].body.find(token), std::string::npos);
  EXPECT_TRUE(f.h.outbox().empty());
  auto sent = f.h.decoded_of<domain::NotificationSent>(before);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message_id, f.mail.sent[0].id);
  EXPECT_EQ(sent[0].recipient, "a***@example.com");
  for (const auto& e : f.h.events_since(before)) EXPECT_EQ(e.data.payload.find(token), std::string::npos);
  EXPECT_EQ(*d.run_once(), 0u);  // nothing twice
  EXPECT_EQ(f.mail.sent.size(), 1u);
}

TEST(Dispatcher, DropsWhatIsNoLongerCurrentAndSendsTheRest) {
  struct Case {
    const char* name;
    std::function<void(Fixture&, const std::string&)> after_request;
    std::size_t delivered;  // of the one reset link
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"untouched", [](Fixture&, const std::string&) {}, 1, nullptr},
      {"superseded by a newer link", [](Fixture& f, const std::string& g) { f.reset(g); }, 1, "superseded before delivery"},
      {"login turned off", [](Fixture& f, const std::string& g) {
         ASSERT_TRUE(f.h.handlers->set_login_allowed(f.h.staff(), {g, false}).ok());
       }, 0, "superseded before delivery"},
      {"expired", [](Fixture& f, const std::string&) { f.h.clock.advance_seconds(1801); }, 0, "expired before delivery"},
  };
  for (const auto& c : cases) {
    Fixture f;
    auto g = f.h.given_registered_guardian();
    f.reset(g);
    c.after_request(f, g);
    const auto newest = f.h.outbox_for("ana@example.com");
    auto d = f.dispatcher();
    ASSERT_TRUE(d.run_once().ok()) << c.name;
    std::size_t links = 0;
    for (const auto& m : f.mail.sent) links += m.kind == "reset_link";
    EXPECT_EQ(links, c.delivered) << c.name;
    if (c.delivered == 1 && !newest.empty()) {
      EXPECT_EQ(f.mail.sent[0].id, newest.back().id) << c.name << ": only the newest link goes out";
    }
    auto failed = f.failures();
    if (c.reason == nullptr) {
      EXPECT_TRUE(failed.empty()) << c.name;
    } else {
      ASSERT_EQ(failed.size(), 1u) << c.name;
      EXPECT_EQ(failed[0].error, c.reason) << c.name;
      EXPECT_TRUE(failed[0].final) << c.name;
    }
    EXPECT_TRUE(f.h.outbox().empty()) << c.name;
  }
}

TEST(Dispatcher, ATemporaryFailureBacksOffAndLeavesTheTransportAloneForThePass) {
  Fixture f;
  auto a = f.h.given_registered_guardian("a@example.com");
  auto b = f.h.given_registered_guardian("b@example.com");
  auto c = f.h.given_registered_guardian("c@example.com");
  f.reset(a);
  f.reset(b);
  f.reset(c, "sms");
  f.mail.fail_with = kDeliveryFailed;
  auto d = f.dispatcher();
  ASSERT_TRUE(d.run_once().ok());
  EXPECT_EQ(f.mail.attempts, 1) << "one attempt per pass while the mail server is down";
  EXPECT_EQ(f.sms.sent.size(), 1u) << "mail being down does not hold SMS back";
  EXPECT_EQ(d.backlog(), 2u);
  auto failed = f.failures();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_FALSE(failed[0].final);
  EXPECT_EQ(failed[0].attempts, 1);

  f.mail.fail_with.clear();
  ASSERT_TRUE(d.run_once().ok());
  EXPECT_EQ(f.mail.sent.size(), 1u) << "the failed message waits for its backoff; the next one goes";
  f.h.clock.advance_seconds(16);  // past 10 s + at most 50 % jitter
  ASSERT_TRUE(d.run_once().ok());
  ASSERT_EQ(f.mail.sent.size(), 2u);
  EXPECT_EQ(f.mail.sent[1].to, "a@example.com");
  EXPECT_TRUE(f.h.outbox().empty());
  EXPECT_EQ(d.backlog(), 0u);
}

TEST(Dispatcher, APermanentRefusalIsGivenUp) {
  Fixture f;
  auto g = f.h.given_registered_guardian();
  f.reset(g);
  f.mail.fail_with = kDeliveryRejected;
  auto d = f.dispatcher();
  ASSERT_TRUE(d.run_once().ok());
  auto failed = f.failures();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(failed[0].final);
  EXPECT_TRUE(f.h.outbox().empty());
}

TEST(Dispatcher, NoticesNeedNoCurrentCredential) {
  Fixture f;
  auto g = f.h.given_registered_guardian();
  auto session = f.h.given_session("ana@example.com");
  ASSERT_TRUE(f.h.handlers->change_password(f.h.as_guardian(g),
                                            commands::ChangePassword{session, testing::kGoodPassword,
                                                                     testing::kOtherGoodPassword})
                  .ok());
  auto d = f.dispatcher();
  ASSERT_TRUE(d.run_once().ok());
  ASSERT_FALSE(f.mail.sent.empty());
  EXPECT_EQ(f.mail.sent.back().kind, "password_changed");
}

}  // namespace
}  // namespace latchkey::notifications
