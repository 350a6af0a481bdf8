// RequestReset (self-service and staff), RedeemToken, IssueTemporaryPassword
// (commands/src/resets.cpp).
#include <gmock/gmock.h>

#include <future>
#include <nlohmann/json.hpp>

#include "commands/harness.hpp"
#include "latchkey/domain/password_policy.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;
constexpr domain::Micros kSecond = domain::kMicrosPerSecond;
const std::string kDefaultPortal = "http://localhost:8080/portal";

Result<commands::SelfServiceDone> forgot(Harness& h, const std::string& login) {
  return h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{login});
}

Result<commands::StaffResetRequested> staff_reset(Harness& h, const std::string& guardian_id,
                                                  const std::string& channel) {
  return h.handlers->request_reset(h.staff(), commands::RequestResetStaff{guardian_id, channel});
}

Result<commands::Accepted> redeem(Harness& h, const std::string& token, const std::string& password = kOtherGoodPassword,
                                  const std::string& answer = "") {
  return h.handlers->redeem_token(h.anonymous(), {token, password, answer});
}

// The token of the last reset request (fails the test when none was sent).
std::string given_reset_token(Harness& h, const std::string& email = "ana@example.com") {
  EXPECT_TRUE(forgot(h, email).ok());
  auto token = h.last_reset_token(email);
  EXPECT_FALSE(token.empty());
  return token;
}

// ---- RequestReset: self-service ------------------------------------------------------------

TEST(RequestResetSelf, SendsALinkWithTheTokenAndTheUserIdAndStoresOnlyTheHash) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = forgot(h, "ana@example.com");

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.types_since(before), Types{"ResetRequested"});
  EXPECT_EQ(r->position, h.head());
  auto ev = h.decoded_of<domain::ResetRequested>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].guardian_id, ana);
  EXPECT_EQ(ev[0].channel, "email");
  EXPECT_EQ(ev[0].requested_by, "self");
  EXPECT_EQ(ev[0].recipient, "a***@example.com");
  EXPECT_EQ(ev[0].expires_at_us, h.clock.now_us() + 1800 * kSecond);

  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "reset_link");
  EXPECT_EQ(sent[0].channel, "email");
  const auto token = h.last_reset_token("ana@example.com");
  ASSERT_FALSE(token.empty());
  EXPECT_NE(sent[0].body.find(kDefaultPortal + "/reset?token=" + token), std::string::npos) << sent[0].body;
  EXPECT_NE(sent[0].body.find("Your User ID is: ana@example.com"), std::string::npos) << sent[0].body;
  EXPECT_EQ(ev[0].token_hash, h.tokens.hash(token));
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(token), std::string::npos);
}

TEST(RequestResetSelf, WorksByCustomLoginIdAndTheLinkUsesTheTenantsPortalUrl) {
  Harness h;
  h.given_tenant(R"({"portal_url": "https://parents.example.org/portal"})");
  auto ana = h.given_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, "ana.rivera"}).ok());

  ASSERT_TRUE(forgot(h, "ANA.RIVERA").ok());

  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].body.find("https://parents.example.org/portal/reset?token="), std::string::npos) << sent[0].body;
  EXPECT_NE(sent[0].body.find("Your User ID is: ana.rivera"), std::string::npos) << sent[0].body;
}

TEST(RequestResetSelf, AnUnknownLoginAppendsAndSendsNothing) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  for (const std::string& login : std::vector<std::string>{"nobody@example.com", "", std::string(300, 'a')}) {
    auto r = forgot(h, login);
    ASSERT_TRUE(r.ok()) << "self-service is never refused";
    EXPECT_EQ(r->position, 0u);
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(RequestResetSelf, AGuardianWhosePortalLoginWasResetGetsNothing) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  (void)h.handlers->reset_portal_login(h.staff(), {{ana}});
  const auto before = h.head();

  auto r = forgot(h, "ana@example.com");

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->position, 0u);
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(RequestResetSelf, IsThrottledAfterTheHourlyLimitAndSendsAgainAnHourLater) {
  Harness h;
  h.given_tenant(R"({"max_reset_requests_per_hour": 2})");
  auto ana = h.given_registered_guardian("ana@example.com");
  auto before = h.head();

  ASSERT_TRUE(forgot(h, "ana@example.com").ok());
  h.clock.advance_seconds(60);
  ASSERT_TRUE(forgot(h, "ana@example.com").ok());
  EXPECT_EQ(h.types_since(before), (Types{"ResetRequested", "ResetRequested"}));
  EXPECT_EQ(h.outbox_for("ana@example.com").size(), 2u);

  before = h.head();
  auto throttled = forgot(h, "ana@example.com");
  ASSERT_TRUE(throttled.ok());
  EXPECT_EQ(h.types_since(before), Types{"ResetRequestThrottled"});
  auto ev = h.decoded_of<domain::ResetRequestThrottled>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].guardian_id, ana);
  EXPECT_EQ(ev[0].requested_by, "self");
  EXPECT_EQ(ev[0].requests_in_last_hour, 2);
  EXPECT_EQ(h.outbox_for("ana@example.com").size(), 2u) << "a throttled request sends nothing";

  // An hour after the first request, one slot is free again.
  h.clock.advance_seconds(3600 - 60);
  before = h.head();
  ASSERT_TRUE(forgot(h, "ana@example.com").ok());
  EXPECT_EQ(h.types_since(before), Types{"ResetRequested"});
  EXPECT_EQ(h.outbox_for("ana@example.com").size(), 3u);
  before = h.head();
  ASSERT_TRUE(forgot(h, "ana@example.com").ok());
  EXPECT_EQ(h.types_since(before), Types{"ResetRequestThrottled"});
}

TEST(RequestResetStaff, CountsTowardsTheSameThrottleAndSpendsNoCreditWhenThrottled) {
  Harness h;
  h.given_tenant(R"({"max_reset_requests_per_hour": 1, "sms_enabled": true})");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {5}).ok());
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(forgot(h, "ana@example.com").ok());
  const auto before = h.head();
  const auto sent = h.outbox().size();

  auto r = staff_reset(h, ana, "sms");

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_TRUE(r->throttled);
  EXPECT_EQ(h.types_since(before), Types{"ResetRequestThrottled"});
  auto ev = h.decoded_of<domain::ResetRequestThrottled>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].requested_by, "staff");
  EXPECT_EQ(ev[0].channel, "sms");
  EXPECT_EQ(h.outbox().size(), sent);
  EXPECT_EQ(h.tenant_state().sms_balance, 5);
}

// ---- RequestReset: staff ------------------------------------------------------------------------

// The HTTP API's way: the command returns once its events are written and
// names the position its answer must wait for; a refusal names none.
TEST(RequestResetStaff, ToldToAnswerLaterItNamesThePositionItsAnswerWaitsFor) {
  Harness h(/*durable=*/true);
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();
  std::uint64_t durable_at = 0;
  auto ctx = h.staff();
  ctx.durable_at = &durable_at;

  auto refused =
      h.handlers->request_reset(ctx, commands::RequestResetStaff{"no-such-guardian", "email"});
  EXPECT_EQ(code_of(refused), "not_found");
  EXPECT_EQ(durable_at, 0u);

  auto r = h.handlers->request_reset(ctx, commands::RequestResetStaff{ana, "email"});
  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(durable_at, before + 1);
  std::promise<Result<void>> durable;
  h.store->when_durable(durable_at, [&](Result<void> done) { durable.set_value(done); });
  auto future = durable.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_GE(h.head(), durable_at);
  EXPECT_EQ(h.types_since(before), Types{"ResetRequested"});
}

TEST(RequestResetStaff, ByEmailSendsTheLinkAndTheUserId) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = staff_reset(h, ana, "email");

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_FALSE(r->throttled);
  EXPECT_EQ(r->channel, "email");
  EXPECT_EQ(r->expires_at_us, h.clock.now_us() + 1800 * kSecond);
  EXPECT_EQ(h.types_since(before), Types{"ResetRequested"});
  auto ev = h.decoded_of<domain::ResetRequested>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].requested_by, "staff");
  EXPECT_EQ(h.events_since(before)[0].data.actor.name, "Front Desk");
  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].body.find(kDefaultPortal + "/reset?token="), std::string::npos);
  EXPECT_NE(sent[0].body.find("Your User ID is: ana@example.com"), std::string::npos);
}

TEST(RequestResetStaff, BySmsSpendsACreditAndTheTextStaysUnder160Characters) {
  Harness h;
  h.given_tenant(R"({"sms_enabled": true})");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {2}).ok());
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = staff_reset(h, ana, "sms");

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"ResetRequested", "SmsCreditSpent"}));
  auto requested = h.decoded_of<domain::ResetRequested>(before);
  auto spent = h.decoded_of<domain::SmsCreditSpent>(before);
  ASSERT_EQ(requested.size(), 1u);
  ASSERT_EQ(spent.size(), 1u);
  EXPECT_EQ(requested[0].channel, "sms");
  EXPECT_EQ(requested[0].recipient, "+1***67");
  EXPECT_EQ(spent[0].guardian_id, ana);
  EXPECT_EQ(spent[0].reset_id, requested[0].reset_id);
  EXPECT_EQ(spent[0].balance, 1);
  auto texts = h.outbox_for("+15551234567");
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0].channel, "sms");
  EXPECT_LT(texts[0].body.size(), 160u) << texts[0].body;
  EXPECT_NE(texts[0].body.find(kDefaultPortal + "/reset?token="), std::string::npos) << texts[0].body;
  EXPECT_TRUE(h.outbox_for("ana@example.com").empty());
  // The texted token works.
  auto token = texts[0].body.substr(texts[0].body.find("token=") + 6);
  token = token.substr(0, token.find(' '));
  EXPECT_TRUE(redeem(h, token).ok());
}

TEST(RequestResetStaff, SmsCreditsRunOutAndNeverGoBelowZero) {
  Harness h;
  h.given_tenant(R"({"sms_enabled": true})");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {2}).ok());
  auto ana = h.given_registered_guardian("ana@example.com");
  auto bob = h.given_registered_guardian("bob@example.com");
  auto before = h.head();

  ASSERT_TRUE(staff_reset(h, ana, "sms").ok());
  ASSERT_TRUE(staff_reset(h, bob, "sms").ok());
  auto spent = h.decoded_of<domain::SmsCreditSpent>(before);
  ASSERT_EQ(spent.size(), 2u);
  EXPECT_EQ(spent[0].balance, 1);
  EXPECT_EQ(spent[1].balance, 0);

  before = h.head();
  const auto sent = h.outbox().size();
  auto r = staff_reset(h, ana, "sms");
  EXPECT_EQ(code_of(r), "sms_credits_exhausted");
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.outbox().size(), sent);
  EXPECT_EQ(h.tenant_state().sms_balance, 0);

  // Email still works without credits.
  EXPECT_TRUE(staff_reset(h, ana, "email").ok());
}

TEST(RequestResetStaff, TheSmsStaysUnder160CharactersWithTheLongestPortalUrlAndALongLoginId) {
  Harness h;
  h.given_tenant(R"({"sms_enabled": true, "portal_url": "https://)" + std::string(50, 'p') + R"("})");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {5}).ok());
  const std::string email = std::string(60, 'l') + "@example.com";
  auto ana = h.given_registered_guardian(email);

  ASSERT_TRUE(staff_reset(h, ana, "sms").ok());

  auto texts = h.outbox_for("+15551234567");
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_LT(texts[0].body.size(), 160u) << texts[0].body;
  EXPECT_NE(texts[0].body.find("https://" + std::string(50, 'p') + "/reset?token="), std::string::npos);
}

TEST(RequestResetStaff, RefusesSmsWhenDisabledWithoutPhoneOrWithoutCredits) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto no_phone = h.given_guardian("bob@example.com", "", "", "Bob", "Smith");
  auto before = h.head();

  EXPECT_EQ(code_of(staff_reset(h, ana, "sms")), "sms_disabled");
  EXPECT_EQ(h.head(), before);

  const auto sms_on = nlohmann::json{{"sms_enabled", true}};
  ASSERT_TRUE(h.handlers->configure_tenant(h.admin(), {&sms_on}).ok());
  before = h.head();
  EXPECT_EQ(code_of(staff_reset(h, no_phone, "sms")), "no_phone_on_file");
  EXPECT_EQ(code_of(staff_reset(h, ana, "sms")), "sms_credits_exhausted");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(RequestResetStaff, RefusesEmailWithoutAnEmailOnFile) {
  Harness h;
  auto marco = h.given_guardian("", "+15551234567", "", "Marco", "Rivera");
  const auto before = h.head();

  auto r = staff_reset(h, marco, "email");

  EXPECT_EQ(code_of(r), "no_email_on_file");
  EXPECT_EQ(h.head(), before);
}

TEST(RequestResetStaff, RefusesABadChannelAnUnknownGuardianAndAResetPortalLogin) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto bob = h.given_registered_guardian("bob@example.com");
  (void)h.handlers->reset_portal_login(h.staff(), {{bob}});
  const auto before = h.head();

  for (const std::string channel : {"", "EMAIL", "fax", "voice"}) {
    auto r = staff_reset(h, ana, channel);
    EXPECT_EQ(code_of(r), "invalid_input") << channel;
    EXPECT_EQ(field_of(r), "channel");
  }
  EXPECT_EQ(code_of(staff_reset(h, "no-such-guardian", "email")), "not_found");
  EXPECT_EQ(code_of(staff_reset(h, bob, "email")), "account_reset_required");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

// ---- RedeemToken ---------------------------------------------------------------------------------

TEST(RedeemToken, SetsThePasswordRevokesEverySessionAndNotifies) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto s1 = h.given_session("ana@example.com");
  auto s2 = h.given_session("ana@example.com");
  auto token = given_reset_token(h);
  const auto before = h.head();

  auto r = redeem(h, token);

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"ResetTokenRedeemed", "PasswordChanged"}));
  auto redeemed = h.decoded_of<domain::ResetTokenRedeemed>(before);
  auto changed = h.decoded_of<domain::PasswordChanged>(before);
  ASSERT_EQ(redeemed.size(), 1u);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(redeemed[0].reset_id, h.decoded_of<domain::ResetRequested>(0).back().reset_id);
  EXPECT_EQ(changed[0].reason, "reset");
  EXPECT_EQ(changed[0].revoked_sessions.size(), 2u);
  EXPECT_TRUE(h.hasher.verify(changed[0].password_hash, kOtherGoodPassword));
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, s1)), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, s2)), "session_invalid");
  auto notices = h.outbox_for("ana@example.com");
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[1].kind, "password_changed");
  EXPECT_EQ(notices[1].body.find(kOtherGoodPassword), std::string::npos);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword}).ok());
  EXPECT_EQ(h.guardian_state(ana).pending_reset(h.clock.now_us()), nullptr);
}

TEST(RedeemToken, RefusesGarbageWithoutRecordingAnything) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  for (const std::string& token : std::vector<std::string>{"", "garbage", ".", "abc.", ".abc",
                                                           "no-such-guardian.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}) {
    auto r = redeem(h, token);
    EXPECT_EQ(code_of(r), "token_invalid") << token;
    EXPECT_EQ(field_of(r), "token") << token;
  }
  EXPECT_EQ(h.head(), before);
}

TEST(RedeemToken, AWellFormedUnknownTokenIsRejectedAndRecorded) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto real = given_reset_token(h);
  const auto before = h.head();
  std::string forged = ana + ".abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
  ASSERT_NE(forged, real);

  auto r = redeem(h, forged);

  EXPECT_EQ(code_of(r), "token_invalid");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  auto ev = h.decoded_of<domain::ResetTokenRejected>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].guardian_id, ana);
  EXPECT_EQ(ev[0].reset_id, "");
  EXPECT_EQ(ev[0].reason, "token_invalid");
  EXPECT_TRUE(redeem(h, real).ok()) << "a forged token does not burn the real one";
}

TEST(RedeemToken, AnExpiredTokenIsRejected) {
  Harness h;
  h.given_tenant(R"({"reset_link_ttl_seconds": 600})");
  h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);

  h.clock.advance_seconds(600);
  const auto before = h.head();
  auto r = redeem(h, token);

  EXPECT_EQ(code_of(r), "token_expired");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  auto ev = h.decoded_of<domain::ResetTokenRejected>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, "token_expired");
  EXPECT_FALSE(ev[0].reset_id.empty());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(RedeemToken, WorksJustBeforeItExpires) {
  Harness h;
  h.given_tenant(R"({"reset_link_ttl_seconds": 600})");
  h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);

  h.clock.advance_seconds(599);
  EXPECT_TRUE(redeem(h, token).ok());
}

TEST(RedeemToken, ATokenWorksOnce) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);
  ASSERT_TRUE(redeem(h, token).ok());
  const auto before = h.head();

  auto again = redeem(h, token, "Another9Fine4Password");

  EXPECT_EQ(code_of(again), "token_used");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  EXPECT_EQ(h.decoded_of<domain::ResetTokenRejected>(before).at(0).reason, "token_used");
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword}).ok());
}

TEST(RedeemToken, AnOlderTokenIsSupersededByANewerRequest) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  auto older = given_reset_token(h);
  auto newer = given_reset_token(h);
  ASSERT_NE(older, newer);
  const auto before = h.head();

  auto r = redeem(h, older);

  EXPECT_EQ(code_of(r), "token_superseded");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  EXPECT_EQ(h.decoded_of<domain::ResetTokenRejected>(before).at(0).reason, "token_superseded");
  EXPECT_TRUE(redeem(h, newer).ok());
}

TEST(RedeemToken, ATemporaryPasswordSupersedesAnOutstandingToken) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());

  EXPECT_EQ(code_of(redeem(h, token)), "token_superseded");
}

TEST(RedeemToken, AGuardianNoLongerAllowedToLogInCannotRedeem) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  const auto before = h.head();

  auto r = redeem(h, token);

  EXPECT_EQ(code_of(r), "login_not_allowed");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  EXPECT_EQ(h.decoded_of<domain::ResetTokenRejected>(before).at(0).reason, "login_not_allowed");
}

TEST(RedeemToken, APolicyViolationAppendsNothingAndTheTokenStaysUsable) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);
  const auto before = h.head();

  auto weak = redeem(h, token, "weak");
  EXPECT_EQ(code_of(weak), "password_policy");
  EXPECT_EQ(field_of(weak), "new_password");
  EXPECT_EQ(details_of(weak), (Types{"min_length", "upper", "digit"}));
  auto huge = redeem(h, token, std::string(2000, 'A'));
  EXPECT_EQ(code_of(huge), "password_policy");
  EXPECT_EQ(details_of(huge), Types{"max_length"});
  auto personal = redeem(h, token, "Ana@example.com1");
  EXPECT_EQ(code_of(personal), "password_policy");
  EXPECT_EQ(h.head(), before);

  EXPECT_TRUE(redeem(h, token).ok());
}

TEST(RedeemToken, ClearsTheLockout) {
  Harness h;
  h.given_tenant(R"({"lockout": {"max_failures": 1, "lock_seconds": 3600}})");
  auto ana = h.given_registered_guardian("ana@example.com");
  (void)h.handlers->log_in(h.anonymous(), {"ana@example.com", "Wrong7Password"});
  ASSERT_EQ(h.guardian_state(ana).status(h.clock.now_us()), domain::kStatusLocked);
  auto token = given_reset_token(h);

  ASSERT_TRUE(redeem(h, token).ok());

  auto g = h.guardian_state(ana);
  EXPECT_EQ(g.status(h.clock.now_us()), domain::kStatusActive);
  EXPECT_EQ(g.failed_login_count, 0);
  EXPECT_EQ(g.locked_until_us, 0);
  auto in = h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword});
  EXPECT_TRUE(in.ok()) << code_of(in) << ": the lockout is cleared at once";
}

TEST(RedeemToken, ClearsMustChangePasswordAndEndsTheMustChangeSession) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  auto must_change = h.given_session("ana@example.com", h.last_temporary_password("ana@example.com"));
  auto token = given_reset_token(h);

  ASSERT_TRUE(redeem(h, token).ok());

  auto g = h.guardian_state(ana);
  EXPECT_FALSE(g.must_change_password);
  EXPECT_EQ(g.status(h.clock.now_us()), domain::kStatusActive);
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, must_change)), "session_invalid");
  auto in = h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword});
  ASSERT_TRUE(in.ok()) << in.error().code;
  EXPECT_FALSE(in->must_change_password);
}

class RedeemWithSecurityAnswer : public ::testing::Test {
 protected:
  void SetUp() override {
    h.given_tenant(R"({"require_security_answer": true})");
    ana = h.given_registered_guardian("ana@example.com");
    auto session = h.given_session("ana@example.com");
    ASSERT_TRUE(h.handlers->set_security_question(h.as_guardian(ana),
                                                  {session, kGoodPassword, "First pet?", "Mister Whiskers"})
                    .ok());
    token = given_reset_token(h);
  }
  Harness h;
  std::string ana, token;
};

TEST_F(RedeemWithSecurityAnswer, RequiresTheAnswer) {
  const auto before = h.head();

  auto r = redeem(h, token, kOtherGoodPassword, "");

  EXPECT_EQ(code_of(r), "security_answer_required");
  EXPECT_EQ(field_of(r), "security_answer");
  EXPECT_EQ(h.head(), before);
}

TEST_F(RedeemWithSecurityAnswer, AWrongAnswerIsRejectedAndRecorded) {
  const auto before = h.head();

  auto r = redeem(h, token, kOtherGoodPassword, "Rex");

  EXPECT_EQ(code_of(r), "security_answer_wrong");
  EXPECT_EQ(field_of(r), "security_answer");
  EXPECT_EQ(h.types_since(before), Types{"ResetTokenRejected"});
  EXPECT_EQ(h.decoded_of<domain::ResetTokenRejected>(before).at(0).reason, "security_answer_wrong");
  EXPECT_TRUE(redeem(h, token, kOtherGoodPassword, "mister whiskers").ok());
}

TEST_F(RedeemWithSecurityAnswer, TheAnswerIsComparedIgnoringCaseAndSpaces) {
  EXPECT_TRUE(redeem(h, token, kOtherGoodPassword, "  MISTER    whiskers ").ok());
}

TEST_F(RedeemWithSecurityAnswer, ThreeWrongAnswersBurnTheToken) {
  for (int i = 0; i < domain::kMaxWrongSecurityAnswers; ++i) {
    EXPECT_EQ(code_of(redeem(h, token, kOtherGoodPassword, "Rex")), "security_answer_wrong") << i;
  }
  const auto before = h.head();

  auto r = redeem(h, token, kOtherGoodPassword, "Mister Whiskers");

  EXPECT_EQ(code_of(r), "token_used");
  EXPECT_EQ(h.decoded_of<domain::ResetTokenRejected>(before).at(0).reason, "token_used");
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
  // A new link works again.
  auto fresh = given_reset_token(h);
  EXPECT_TRUE(redeem(h, fresh, kOtherGoodPassword, "Mister Whiskers").ok());
}

TEST(RedeemToken, NoAnswerIsNeededWhileTheGuardianHasNoSecurityQuestion) {
  Harness h;
  h.given_tenant(R"({"require_security_answer": true})");
  h.given_registered_guardian("ana@example.com");
  auto token = given_reset_token(h);
  EXPECT_TRUE(redeem(h, token).ok());
}

// ---- IssueTemporaryPassword ------------------------------------------------------------------------

TEST(IssueTemporaryPassword, EmailsAPasswordThatMeetsThePolicyAndStoresOnlyItsHash) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->issue_temporary_password(h.staff(), {ana});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(r->expires_at_us, h.clock.now_us() + 259200 * kSecond);
  EXPECT_EQ(h.types_since(before), Types{"TemporaryPasswordIssued"});
  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "temporary_password");
  const auto password = h.last_temporary_password("ana@example.com");
  ASSERT_FALSE(password.empty());
  EXPECT_NE(sent[0].body.find("\nTemporary password: " + password + "\n"), std::string::npos) << sent[0].body;
  EXPECT_NE(sent[0].body.find(kDefaultPortal + "/login"), std::string::npos) << sent[0].body;
  EXPECT_NE(sent[0].body.find("Your User ID is: ana@example.com"), std::string::npos) << sent[0].body;
  EXPECT_TRUE(domain::unmet_password_rules(domain::TenantSettings{}, password,
                                           {"ana@example.com", "ana@example.com", "Ana", "Rivera"})
                  .empty())
      << password;

  auto ev = h.decoded_of<domain::TemporaryPasswordIssued>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].trigger, "staff");
  EXPECT_EQ(ev[0].recipient, "a***@example.com");
  EXPECT_EQ(ev[0].expires_at_us, r->expires_at_us);
  EXPECT_EQ(ev[0].revoked_sessions.size(), 1u);
  EXPECT_TRUE(h.hasher.verify(ev[0].password_hash, password));
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(password), std::string::npos);
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, session)), "session_invalid");
}

TEST(IssueTemporaryPassword, FollowsAStricterTenantPolicy) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto stricter = nlohmann::json::parse(R"({"password_policy": {"min_length": 24, "require_symbol": true}})");
  ASSERT_TRUE(h.handlers->configure_tenant(h.admin(), {&stricter}).ok());

  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());

  const auto password = h.last_temporary_password("ana@example.com");
  EXPECT_TRUE(domain::unmet_password_rules(h.tenant_state().settings, password,
                                           {"ana@example.com", "ana@example.com", "Ana", "Rivera"})
                  .empty())
      << password;
  EXPECT_GE(password.size(), 24u);
}

TEST(IssueTemporaryPassword, LogsInOnceIntoASessionThatMayOnlyChangeThePassword) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  const auto password = h.last_temporary_password("ana@example.com");
  ASSERT_TRUE(h.handlers->publish_policy(h.admin(), {"privacy", "Privacy", 1, "We keep your data safe.", ""}).ok());
  auto before = h.head();

  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", password});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_TRUE(r->must_change_password);
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].via, "temporary_password");
  EXPECT_TRUE(ok[0].must_change_password);
  auto who = h.handlers->authenticate_session(h.tenant_id, r->session_token);
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->must_change_password);

  before = h.head();
  EXPECT_EQ(code_of(h.handlers->change_login_id(h.as_guardian(ana), {r->session_token, "ana.rivera"})),
            "password_change_required");
  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(ana), {r->session_token, "privacy", 1})),
            "password_change_required");
  EXPECT_EQ(code_of(h.handlers->set_security_question(h.as_guardian(ana), {r->session_token, password, "Pet?", "Rex"})),
            "password_change_required");
  EXPECT_EQ(h.head(), before);

  // It works once.
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", password})), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});

  // The session it opened can set the new password.
  EXPECT_TRUE(h.handlers->change_password(h.as_guardian(ana), {r->session_token, "", kOtherGoodPassword}).ok());
  EXPECT_TRUE(h.handlers->change_login_id(h.as_guardian(ana), {r->session_token, "ana.rivera"}).ok());
}

TEST(IssueTemporaryPassword, ExpiresAfterTheTenantsTtl) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  const auto password = h.last_temporary_password("ana@example.com");

  h.clock.advance_seconds(259200);

  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", password})), "invalid_credentials");
}

TEST(IssueTemporaryPassword, ReplacesTheOldPassword) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());

  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  EXPECT_EQ(h.guardian_state(ana).status(h.clock.now_us()), domain::kStatusMustChange);
}

TEST(IssueTemporaryPassword, Refusals) {
  Harness h;
  auto marco = h.given_guardian("", "+15551234567", "", "Marco", "Rivera");
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  auto bob = h.given_registered_guardian("bob@example.com");
  (void)h.handlers->reset_portal_login(h.staff(), {{bob}});
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->issue_temporary_password(h.staff(), {marco})), "no_email_on_file");
  EXPECT_EQ(code_of(h.handlers->issue_temporary_password(h.staff(), {ana})), "login_not_allowed");
  EXPECT_EQ(code_of(h.handlers->issue_temporary_password(h.staff(), {bob})), "account_reset_required");
  EXPECT_EQ(code_of(h.handlers->issue_temporary_password(h.staff(), {"no-such-guardian"})), "not_found");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

}  // namespace
}  // namespace latchkey::testing
