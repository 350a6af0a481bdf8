// The outbox dispatcher over real command histories on a real RocksDB store,
// with transports that record what they are handed (or fail as told).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "../commands/harness.hpp"
#include "support/event_ids.hpp"
#include "latchkey/domain/encoding.hpp"
#include "latchkey/notifications/dispatcher.hpp"
#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {
namespace {

using testing::Harness;

class RecordingTransport final : public Transport {
 public:
  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros) override {
    ++attempts;
    if (before_each) before_each();
    if (!fail_with.empty()) return make_error(fail_with, "told to fail");
    sent.push_back(m);
    return {};
  }
  std::vector<domain::OutboxMessage> sent;
  std::string fail_with;  // kDeliveryFailed or kDeliveryRejected
  int attempts = 0;
  std::function<void()> before_each;
};

// Takes each batch whole, and remembers the batches' sizes.
class BatchingTransport final : public Transport {
 public:
  Result<void> deliver(const domain::OutboxMessage&, domain::Micros) override {
    ADD_FAILURE() << "a batching transport is handed batches";
    return {};
  }
  std::vector<Result<void>> deliver_batch(std::span<const domain::OutboxMessage* const> messages,
                                          domain::Micros) override {
    if (before_each) before_each();
    batches.push_back(messages.size());
    for (const auto* m : messages) sent.push_back(*m);
    return std::vector<Result<void>>(messages.size());
  }
  std::size_t max_batch() const override { return 1000; }
  std::vector<std::size_t> batches;
  std::vector<domain::OutboxMessage> sent;
  std::function<void()> before_each;  // called as each batch arrives
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

TEST(Dispatcher, APageGoesToATransportAsOneBatchRecordedBeforeTheNextBatch) {
  Fixture f;
  std::vector<std::string> guardians;
  for (const char* email : {"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}) {
    guardians.push_back(f.h.given_registered_guardian(email));
  }
  auto none = f.dispatcher();
  ASSERT_TRUE(none.run_once().ok());  // the registrations' own notices
  for (std::size_t i = 0; i < 4; ++i) f.reset(guardians[i]);
  f.reset(guardians[4], "sms");
  const auto after_resets = f.h.head();

  BatchingTransport mail;
  mail.before_each = [&] {
    EXPECT_EQ(f.h.decoded_of<domain::NotificationSent>(after_resets).size(), mail.sent.size() + f.sms.sent.size())
        << "every earlier batch is recorded before the next one goes";
  };
  f.options.batch = 3;  // two pages: 3 + 2
  Dispatcher d(*f.h.store, f.h.clock, f.h.random, mail, f.sms, f.options);
  auto n = d.run_once();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(mail.batches, (std::vector<std::size_t>{3, 1})) << "the first page holds three links, the second one";
  EXPECT_EQ(f.sms.sent.size(), 1u);
  ASSERT_EQ(mail.sent.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(mail.sent[i].to, std::string(1, static_cast<char>('a' + i)) + "@example.com") << "outbox order";
  }
  EXPECT_TRUE(f.h.outbox().empty());

  // Each outcome is recorded once, in the notifications stream, after the resets.
  const auto recorded = f.h.events_since(after_resets);
  ASSERT_EQ(recorded.size(), 5u);
  for (const auto& e : recorded) {
    EXPECT_EQ(e.data.type, "NotificationSent");
    EXPECT_EQ(e.data.event_id.substr(0, 15), testing::uuid_v7_prefix(e.data.recorded_at_us)) << "time-ordered ids";
  }
  EXPECT_EQ(recorded[0].stream_id, "notifications:" + f.h.tenant_id);
  EXPECT_EQ(d.delivered(), 5u);

  // The next pass starts past what was removed, and still finds what came after.
  f.reset(guardians[0]);
  ASSERT_EQ(*d.run_once(), 1u);
  EXPECT_EQ(mail.sent.back().to, "a@example.com");
  EXPECT_TRUE(f.h.outbox().empty());
}

TEST(Dispatcher, AOneAtATimeTransportHasEachDeliveryRecordedBeforeTheNextGoes) {
  Fixture f;
  std::vector<std::string> guardians;
  for (const char* email : {"a@example.com", "b@example.com", "c@example.com"}) {
    guardians.push_back(f.h.given_registered_guardian(email));
  }
  ASSERT_TRUE(f.dispatcher().run_once().ok());  // the registrations' own notices
  const auto before = f.h.head();
  for (const auto& g : guardians) f.reset(g);
  // A crash between a delivery and its record re-sends what was delivered:
  // with SMTP or the webhook that must be one message at most.
  f.mail.before_each = [&] {
    EXPECT_EQ(f.h.decoded_of<domain::NotificationSent>(before).size(), f.mail.sent.size());
  };
  auto d = f.dispatcher();
  ASSERT_EQ(*d.run_once(), 3u);
  EXPECT_EQ(f.h.decoded_of<domain::NotificationSent>(before).size(), 3u);
}

TEST(Dispatcher, TheDefaultBatchStopsAtAFailureButNotAtARefusal) {
  struct Scripted final : Transport {
    Result<void> deliver(const domain::OutboxMessage& m, domain::Micros) override {
      tried.push_back(m.id);
      const auto i = tried.size() - 1;
      if (i < script.size() && !script[i].empty()) return make_error(script[i], "scripted");
      return {};
    }
    std::vector<std::string> script;
    std::vector<std::string> tried;
  };
  const domain::OutboxMessage m1{.id = "1"}, m2{.id = "2"}, m3{.id = "3"};
  const std::vector<const domain::OutboxMessage*> batch{&m1, &m2, &m3};
  struct Case {
    std::vector<std::string> script;
    std::size_t answered;
  } cases[] = {
      {{}, 3},
      {{kDeliveryRejected}, 3},
      {{"", kDeliveryFailed}, 2},
      {{kDeliveryFailed}, 1},
  };
  for (const auto& c : cases) {
    Scripted t;
    t.script = c.script;
    auto results = t.deliver_batch(batch, 0);
    EXPECT_EQ(results.size(), c.answered);
    EXPECT_EQ(t.tried.size(), c.answered) << "nothing is tried past a failure";
  }
}

TEST(FileTransport, WritesABatchAsWholeLinesOnePerMessage) {
  testing::TempDir dir;
  const auto path = dir.path() / "outbox.jsonl";
  auto transport = open_file_transport(path.string());
  ASSERT_TRUE(transport.ok());
  domain::OutboxMessage a{.id = "m-1", .tenant = "t", .channel = "email", .to = "a@example.com",
                          .subject = "Hello", .body = "line one\nline two"};
  domain::OutboxMessage b = a;
  b.id = "m-2";
  b.to = "b@example.com";
  ASSERT_TRUE((*transport)->deliver(a, 0).ok());
  const std::vector<const domain::OutboxMessage*> batch{&b, &a};
  auto results = (*transport)->deliver_batch(batch, 0);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok() && results[1].ok());

  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["id"], "m-1");
  EXPECT_EQ(lines[1]["id"], "m-2");
  EXPECT_EQ(lines[1]["to"], "b@example.com");
  EXPECT_EQ(lines[2]["id"], "m-1");
  EXPECT_EQ(lines[2]["body"], "line one\nline two");
  EXPECT_EQ(lines[2]["sent_at"], domain::format_time(0));
}

}  // namespace
}  // namespace latchkey::notifications
