// LogIn, LogOut and session authentication (commands/src/sessions.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;
constexpr domain::Micros kSecond = domain::kMicrosPerSecond;

// ---- LogIn: success ------------------------------------------------------------------

TEST(LogIn, TheFirstLoginFillsTheLoginIdAndOpensASession) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"LoginSucceeded"});
  EXPECT_EQ(r->guardian_id, ana);
  EXPECT_FALSE(r->must_change_password);
  EXPECT_EQ(r->expires_at_us, h.clock.now_us() + 43200 * kSecond);
  EXPECT_EQ(r->position, h.head());
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_TRUE(ok[0].first_login);
  EXPECT_EQ(ok[0].login_id, "ana@example.com");
  EXPECT_EQ(ok[0].login_count, 1);
  EXPECT_EQ(ok[0].via, "password");
  EXPECT_FALSE(ok[0].must_change_password);
  EXPECT_EQ(ok[0].token_hash, h.tokens.hash(r->session_token));
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(r->session_token), std::string::npos);

  auto who = h.handlers->authenticate_session(h.tenant_id, r->session_token);
  ASSERT_TRUE(who.ok()) << who.error().code;
  EXPECT_EQ(who->guardian_id, ana);
  EXPECT_EQ(who->session_id, ok[0].session_id);
  EXPECT_FALSE(who->must_change_password);
}

TEST(LogIn, EachLoginCountsAndOnlyTheFirstIsFirst) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  for (int i = 0; i < 3; ++i) h.given_session("ana@example.com");

  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 3u);
  EXPECT_TRUE(ok[0].first_login);
  EXPECT_FALSE(ok[1].first_login);
  EXPECT_FALSE(ok[2].first_login);
  EXPECT_EQ(ok[0].login_count, 1);
  EXPECT_EQ(ok[1].login_count, 2);
  EXPECT_EQ(ok[2].login_count, 3);
  EXPECT_NE(ok[0].session_id, ok[1].session_id);
  EXPECT_EQ(h.guardian_state(ana).login_count, 3);
  EXPECT_EQ(h.guardian_state(ana).sessions.size(), 3u);
}

TEST(LogIn, PastTheSessionLimitTheOldestSessionEnds) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < domain::kMaxSessions; ++i) {
    tokens.push_back(h.given_session("ana@example.com"));
    h.clock.advance_seconds(1);
  }
  const auto before = h.head();
  const auto oldest = h.guardian_state(ana).sessions_to_end_for_login(h.clock.now_us());
  ASSERT_EQ(oldest.size(), 1u);

  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"SessionEnded", "LoginSucceeded"}));
  auto ended = h.decoded_of<domain::SessionEnded>(before);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason, "session_limit");
  EXPECT_EQ(ended[0].session_id, oldest[0]);
  EXPECT_EQ(h.guardian_state(ana).sessions.size(), domain::kMaxSessions);
  // The first device's token is the one that stopped working.
  EXPECT_EQ(h.handlers->authenticate_session(h.tenant_id, tokens[0]).error().code, "session_invalid");
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    EXPECT_TRUE(h.handlers->authenticate_session(h.tenant_id, tokens[i]).ok()) << i;
  }
  EXPECT_TRUE(h.handlers->authenticate_session(h.tenant_id, r->session_token).ok());
}

TEST(LogIn, ExpiredSessionsDoNotCountAgainstTheLimit) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  for (std::size_t i = 0; i < domain::kMaxSessions; ++i) h.given_session("ana@example.com");
  h.clock.advance_seconds(43200);  // every one of them has expired
  const auto before = h.head();

  ASSERT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());

  EXPECT_EQ(h.types_since(before), Types{"LoginSucceeded"});
  EXPECT_EQ(h.guardian_state(ana).sessions.size(), 1u);
}

TEST(LogIn, WorksByEmailInAnyCaseAndByACustomLoginId) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, "ana.rivera"}).ok());
  const auto before = h.head();

  for (const std::string login : {"ana@example.com", "ANA@Example.Com", "ana.rivera", "Ana.Rivera"}) {
    auto r = h.handlers->log_in(h.anonymous(), {login, kGoodPassword});
    ASSERT_TRUE(r.ok()) << login << ": " << r.error().code;
    EXPECT_EQ(r->guardian_id, ana);
  }
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 4u);
  for (const auto& e : ok) EXPECT_EQ(e.login_id, "ana.rivera");
}

TEST(LogIn, IsolatesTenants) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->create_tenant(h.platform(), {"other-gym", "Other Gym"}).ok());
  auto session = h.given_session("ana@example.com");
  const auto before = h.head();

  auto other = h.anonymous();
  other.tenant = "other-gym";
  EXPECT_EQ(code_of(h.handlers->log_in(other, {"ana@example.com", kGoodPassword})), "invalid_credentials");
  EXPECT_EQ(code_of(h.handlers->authenticate_session("other-gym", session)), "session_invalid");
  EXPECT_EQ(h.head(), before);
}

// ---- LogIn: refusals -------------------------------------------------------------------

TEST(LogIn, AWrongPasswordRecordsLoginFailedAndAnswersInvalidCredentials) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword});

  EXPECT_EQ(code_of(r), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].guardian_id, ana);
  EXPECT_EQ(failed[0].reason, "wrong_password");
  EXPECT_EQ(failed[0].failed_count, 1);
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(kOtherGoodPassword), std::string::npos);
}

TEST(LogIn, AnUnknownLoginAnswersTheSameAndAppendsNothing) {
  Harness h;
  h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  for (const std::string& login : std::vector<std::string>{"nobody@example.com", "ana", "", std::string(255, 'a')}) {
    auto r = h.handlers->log_in(h.anonymous(), {login, kGoodPassword});
    EXPECT_EQ(code_of(r), "invalid_credentials") << login;
  }
  auto oversized = h.handlers->log_in(h.anonymous(), {"ana@example.com", std::string(257, 'A')});
  EXPECT_EQ(code_of(oversized), "invalid_credentials");
  EXPECT_EQ(h.head(), before);
}

TEST(LogIn, AGuardianWithoutAPortalAccountIsRefused) {
  Harness h;
  h.given_guardian("ana@example.com");
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "no_password");
}

TEST(LogIn, AGuardianNotAllowedToLogInIsRefusedEvenWithTheRightPassword) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  const auto before = h.head();

  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});

  EXPECT_EQ(code_of(r), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "login_not_allowed");
  EXPECT_EQ(failed[0].failed_count, 0);
}

TEST(LogIn, LocksOutAfterTheTenantsMaxFailuresUntilTheLockPasses) {
  Harness h;
  h.given_tenant(R"({"lockout": {"max_failures": 3, "lock_seconds": 600}})");
  auto ana = h.given_registered_guardian("ana@example.com");
  auto before = h.head();

  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", "Wrong7Password"})),
              "invalid_credentials");
  }
  EXPECT_EQ(h.types_since(before), (Types{"LoginFailed", "LoginFailed"}));
  before = h.head();
  const auto locked_at = h.clock.now_us();
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", "Wrong7Password"})), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), (Types{"LoginFailed", "AccountLockedOut"}));
  auto locked = h.decoded_of<domain::AccountLockedOut>(before);
  ASSERT_EQ(locked.size(), 1u);
  EXPECT_EQ(locked[0].failures, 3);
  EXPECT_EQ(locked[0].locked_until_us, locked_at + 600 * kSecond);
  EXPECT_EQ(h.guardian_state(ana).status(h.clock.now_us()), domain::kStatusLocked);

  // Even the right password fails while locked.
  h.clock.advance_seconds(599);
  before = h.head();
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "locked");

  h.clock.advance_seconds(1);
  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});
  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.guardian_state(ana).failed_login_count, 0);
}

TEST(LogIn, ASuccessfulLoginClearsTheFailureCount) {
  Harness h;
  h.given_tenant(R"({"lockout": {"max_failures": 3, "lock_seconds": 600}})");
  h.given_registered_guardian("ana@example.com");
  auto fail = [&] { (void)h.handlers->log_in(h.anonymous(), {"ana@example.com", "Wrong7Password"}); };
  fail();
  fail();
  h.given_session("ana@example.com");
  const auto before = h.head();

  fail();
  fail();

  EXPECT_EQ(h.types_since(before), (Types{"LoginFailed", "LoginFailed"}));
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(LogIn, ATemporaryPasswordExpiresWithTheTenantsTtl) {
  Harness h;
  h.given_tenant(R"({"temporary_password_ttl_seconds": 3600})");
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  const auto temporary = h.last_temporary_password("ana@example.com");
  ASSERT_FALSE(temporary.empty());

  h.clock.advance_seconds(3600);
  const auto before = h.head();
  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", temporary});

  EXPECT_EQ(code_of(r), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "temporary_password_expired");
}

TEST(LogIn, ATemporaryPasswordWorksJustBeforeItExpires) {
  Harness h;
  h.given_tenant(R"({"temporary_password_ttl_seconds": 3600})");
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());

  h.clock.advance_seconds(3599);
  auto r = h.handlers->log_in(h.anonymous(), {"ana@example.com", h.last_temporary_password("ana@example.com")});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_TRUE(r->must_change_password);
}

TEST(LogIn, AfterAPortalLoginResetNothingLogsIn) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  (void)h.handlers->reset_portal_login(h.staff(), {{ana}});
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "reset_required");
}

// ---- Sessions ------------------------------------------------------------------------------

TEST(Session, ExpiresAfterTheTenantsSessionTtl) {
  Harness h;
  h.given_tenant(R"({"session_ttl_seconds": 600})");
  h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");

  h.clock.advance_seconds(599);
  EXPECT_TRUE(h.handlers->authenticate_session(h.tenant_id, session).ok());
  h.clock.advance_seconds(1);
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, session)), "session_invalid");
}

TEST(Session, ATamperedOrMalformedTokenIsInvalid) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");
  std::string tampered = session;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  for (const std::string& token : {tampered, std::string("garbage"), std::string(""), ana + ".", "." + session,
                                   std::string("no-such-guardian.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")}) {
    EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, token)), "session_invalid") << token;
  }
}

// ---- LogOut --------------------------------------------------------------------------------

TEST(LogOut, EndsThisSessionOnly) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto mine = h.given_session("ana@example.com");
  auto other = h.given_session("ana@example.com");
  auto who = h.handlers->authenticate_session(h.tenant_id, mine);
  ASSERT_TRUE(who.ok());
  const auto before = h.head();

  auto r = h.handlers->log_out(h.as_guardian(ana), {mine});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"SessionEnded"});
  auto ended = h.decoded_of<domain::SessionEnded>(before);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].guardian_id, ana);
  EXPECT_EQ(ended[0].session_id, who->session_id);
  EXPECT_EQ(ended[0].reason, "logout");
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, mine)), "session_invalid");
  EXPECT_TRUE(h.handlers->authenticate_session(h.tenant_id, other).ok());
}

TEST(LogOut, AnEndedOrUnknownSessionIsRefusedAndAppendsNothing) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");
  ASSERT_TRUE(h.handlers->log_out(h.as_guardian(ana), {session}).ok());
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->log_out(h.as_guardian(ana), {session})), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->log_out(h.as_guardian(ana), {"garbage"})), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->log_out(h.as_guardian(ana), {""})), "session_invalid");
  EXPECT_EQ(h.head(), before);
}

TEST(LogOut, AMustChangeSessionMayLogOut) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  auto session = h.given_session("ana@example.com", h.last_temporary_password("ana@example.com"));
  const auto before = h.head();

  ASSERT_TRUE(h.handlers->log_out(h.as_guardian(ana), {session}).ok());
  EXPECT_EQ(h.types_since(before), Types{"SessionEnded"});
}

}  // namespace
}  // namespace latchkey::testing
