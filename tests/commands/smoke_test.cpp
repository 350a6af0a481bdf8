// The whole guardian journey once, end to end through the handlers.
#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

TEST(CommandJourney, RegisterLogInForgetRedeemLogIn) {
  Harness h;
  auto g = h.given_registered_guardian("ana@example.com");
  auto first = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});
  ASSERT_TRUE(first.ok()) << first.error().code;
  EXPECT_EQ(first->guardian_id, g);

  auto before = h.head();
  ASSERT_TRUE(h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{"ANA@example.com"}).ok());
  EXPECT_EQ(h.types_since(before), std::vector<std::string>{"ResetRequested"});
  auto token = h.last_reset_token("ana@example.com");
  ASSERT_FALSE(token.empty());

  before = h.head();
  auto redeemed = h.handlers->redeem_token(h.anonymous(), {token, kOtherGoodPassword, ""});
  ASSERT_TRUE(redeemed.ok()) << redeemed.error().code;
  EXPECT_EQ(h.types_since(before), (std::vector<std::string>{"ResetTokenRedeemed", "PasswordChanged"}));

  EXPECT_FALSE(h.handlers->authenticate_session(h.tenant_id, first->session_token).ok());
  EXPECT_FALSE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword}).ok());
}

}  // namespace
}  // namespace latchkey::testing
