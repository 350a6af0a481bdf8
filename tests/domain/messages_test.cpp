// Outbox messages: what the guardian receives (SPEC §7).
#include <gtest/gtest.h>

#include "latchkey/domain/messages.hpp"
#include "latchkey/domain/settings.hpp"

namespace latchkey::domain {
namespace {

MessageContext context(std::string portal_url = "http://localhost:8080/portal") {
  return {"m1", "sunny-days", "Sunny Days Daycare", std::move(portal_url), "g1", 1'000'000'000};
}

const std::string kToken = "AbCdEfGhIjKlMnOpQrStUv." + std::string(43, 'x');

TEST(Messages, ResetEmailHoldsTheLinkAndTheUserId) {
  auto m = reset_link_message(context(), "email", "ana@example.com", "ana@example.com", kToken,
                              1'000'000'000 + 1800 * kMicrosPerSecond);
  EXPECT_EQ(m.kind, "reset_link");
  EXPECT_EQ(m.channel, "email");
  EXPECT_NE(m.body.find("http://localhost:8080/portal/reset?token=" + kToken + "\n"), std::string::npos);
  EXPECT_NE(m.body.find("Your User ID is: ana@example.com"), std::string::npos);
  EXPECT_NE(m.body.find("30 minutes"), std::string::npos);
  EXPECT_FALSE(m.subject.empty());
}

TEST(Messages, ResetSmsStaysUnder160Characters) {
  const std::string longest_url = "https://" + std::string(kMaxPortalUrlForSms - 8, 'p');
  for (const auto& login : {std::string("ana"), std::string(128, 'l')}) {
    auto m = reset_link_message(context(longest_url), "sms", "+15551234567", login, kToken, 0);
    EXPECT_LT(m.body.size(), 160u) << m.body;
    EXPECT_NE(m.body.find(longest_url + "/reset?token=" + kToken), std::string::npos);
    EXPECT_TRUE(m.subject.empty());
  }
  auto short_one = reset_link_message(context(), "sms", "+15551234567", "ana", kToken, 0);
  EXPECT_NE(short_one.body.find("User ID: ana"), std::string::npos);
}

TEST(Messages, TemporaryPasswordHasItsOwnLineAndTheLoginLink) {
  auto m = temporary_password_message(context(), "ana@example.com", "ana", "Tmp9Pass7Word3x",
                                      1'000'000'000 + 72 * 3600 * kMicrosPerSecond);
  EXPECT_NE(m.body.find("\nTemporary password: Tmp9Pass7Word3x\n"), std::string::npos);
  EXPECT_NE(m.body.find("http://localhost:8080/portal/login"), std::string::npos);
  EXPECT_NE(m.body.find("3 days"), std::string::npos);
}

TEST(Messages, NoticesHoldNoSecretAndExpire) {
  auto ctx = context();
  for (const auto& m : {password_changed_notice(ctx, "ana@example.com"),
                        login_id_changed_notice(ctx, "ana@example.com", "ana.r"),
                        email_changed_notice(ctx, "old@example.com", "old@example.com", "new@example.com")}) {
    EXPECT_EQ(m.body.find("token"), std::string::npos);
    EXPECT_EQ(m.body.find("password:"), std::string::npos);
    EXPECT_EQ(m.expires_at_us, ctx.now_us + kNoticeLifetime);
  }
  auto changed = email_changed_notice(ctx, "old@example.com", "old@example.com", "new@example.com");
  EXPECT_NE(changed.body.find("o***@example.com"), std::string::npos);
  EXPECT_NE(changed.body.find("n***@example.com"), std::string::npos);
}

TEST(Messages, RoundTripAndStrictDecoding) {
  auto m = password_changed_notice(context(), "ana@example.com");
  auto back = decode_outbox_message(encode_outbox_message(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(decode_outbox_message("{").ok());
  EXPECT_FALSE(decode_outbox_message(R"({"id":"m1"})").ok());
}

TEST(Messages, Durations) {
  EXPECT_EQ(describe_duration(1800 * kMicrosPerSecond), "30 minutes");
  EXPECT_EQ(describe_duration(3600 * kMicrosPerSecond), "1 hour");
  EXPECT_EQ(describe_duration(86400 * kMicrosPerSecond), "24 hours");
  EXPECT_EQ(describe_duration(259200 * kMicrosPerSecond), "3 days");
  EXPECT_EQ(describe_duration(90 * kMicrosPerSecond), "1 minute");
}

}  // namespace
}  // namespace latchkey::domain
