// ResetPortalLogin and ClaimAccount (commands/src/portal_login.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;

// ---- ResetPortalLogin ---------------------------------------------------------------------

TEST(ResetPortalLogin, DropsCredentialsAndSessionsSoTheGuardianMustReRegister) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");
  const auto before = h.head();

  auto results = h.handlers->reset_portal_login(h.staff(), {{ana}});

  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].guardian_id, ana);
  EXPECT_EQ(results[0].status, "reset");
  EXPECT_EQ(results[0].position, h.head());
  EXPECT_EQ(h.types_since(before), Types{"PortalLoginReset"});
  auto ev = h.decoded_of<domain::PortalLoginReset>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].released_login_id, "");
  EXPECT_EQ(ev[0].revoked_sessions.size(), 1u);

  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, session)), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  auto g = h.guardian_state(ana);
  EXPECT_EQ(g.status(h.clock.now_us()), domain::kStatusResetRequired);
  EXPECT_EQ(g.login_id(), "");
  EXPECT_FALSE(g.has_logged_in);
  EXPECT_EQ(h.login_owner("ana@example.com"), ana) << "the email stays on the contact record";
}

TEST(ResetPortalLogin, ReleasesACustomLoginIdForOthers) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, "ana.rivera"}).ok());
  const auto before = h.head();

  auto results = h.handlers->reset_portal_login(h.staff(), {{ana}});

  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, "reset");
  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReleased", "PortalLoginReset"}));
  EXPECT_EQ(h.decoded_of<domain::PortalLoginReset>(before).at(0).released_login_id, "ana.rivera");
  EXPECT_EQ(h.login_owner("ana.rivera"), "");
  auto bob = h.given_guardian("bob@example.com", "", "", "Bob", "Smith");
  EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {bob, kGoodPassword, "ana.rivera"}).ok());
}

TEST(ResetPortalLogin, ManyAtOnceWithUnknownIdsAndDuplicatesListedOnce) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto bob = h.given_registered_guardian("bob@example.com");
  auto marco = h.given_guardian("marco@example.com", "", "", "Marco", "Rivera");  // no account yet
  const auto before = h.head();

  auto results = h.handlers->reset_portal_login(
      h.staff(), {{ana, "no-such-guardian", bob, ana, "bad id!", marco, bob, ""}});

  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& r : results) got.emplace_back(r.guardian_id, r.status);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{ana, "reset"},
                                                                     {"no-such-guardian", "not_found"},
                                                                     {bob, "reset"},
                                                                     {"bad id!", "not_found"},
                                                                     {marco, "reset"},
                                                                     {"", "not_found"}}));
  for (const auto& r : results) {
    if (r.status == "not_found") {
      EXPECT_EQ(r.position, 0u);
    } else {
      EXPECT_GT(r.position, before);
    }
    EXPECT_EQ(r.error, "");
  }
  EXPECT_EQ(h.types_since(before), (Types{"PortalLoginReset", "PortalLoginReset", "PortalLoginReset"}));
  for (const auto& id : {ana, bob, marco}) {
    EXPECT_EQ(h.guardian_state(id).status(h.clock.now_us()), domain::kStatusResetRequired);
  }
}

TEST(ResetPortalLogin, NoIdsResetsNothing) {
  Harness h;
  const auto before = h.given_tenant();
  EXPECT_TRUE(h.handlers->reset_portal_login(h.staff(), {{}}).empty());
  EXPECT_EQ(h.head(), before);
}

// ---- ClaimAccount ----------------------------------------------------------------------------

// A family with a child S-1001 and Ana, whose portal login was reset.
struct ClaimFixture {
  Harness h;
  std::string family, ana;

  ClaimFixture() {
    family = h.given_family("Rivera");
    ana = h.given_guardian("ana@example.com", "+15551234567", family, "Ana", "Rivera");
    EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, ""}).ok());
    EXPECT_TRUE(h.handlers->add_child(h.staff(), {family, {"S-1001", "Luis", "Rivera"}}).ok());
    auto reset = h.handlers->reset_portal_login(h.staff(), {{ana}});
    EXPECT_EQ(reset.at(0).status, "reset");
  }

  Result<commands::SelfServiceDone> claim(const std::string& login_id, const std::string& child,
                                          const std::string& first, const std::string& last) {
    return h.handlers->claim_account(h.anonymous(), {login_id, child, first, last});
  }
};

TEST(ClaimAccount, WithExactNamesIssuesAndEmailsATemporaryPassword) {
  ClaimFixture f;
  auto& h = f.h;
  const auto before = h.head();

  auto r = f.claim("", "S-1001", "Ana", "Rivera");

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->position, h.head());
  EXPECT_EQ(h.types_since(before), (Types{"AccountClaimed", "TemporaryPasswordIssued"}));
  auto claimed = h.decoded_of<domain::AccountClaimed>(before);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].guardian_id, f.ana);
  EXPECT_EQ(claimed[0].login_id, "ana@example.com");
  EXPECT_EQ(claimed[0].child_id, "S-1001");
  auto issued = h.decoded_of<domain::TemporaryPasswordIssued>(before);
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].trigger, "claim");

  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "temporary_password");
  const auto password = h.last_temporary_password("ana@example.com");
  ASSERT_FALSE(password.empty());
  EXPECT_TRUE(h.hasher.verify(issued[0].password_hash, password));
  for (const auto& e : h.events_since(before)) EXPECT_EQ(e.data.payload.find(password), std::string::npos);

  auto in = h.handlers->log_in(h.anonymous(), {"ana@example.com", password});
  ASSERT_TRUE(in.ok()) << in.error().code;
  EXPECT_TRUE(in->must_change_password);
  EXPECT_EQ(h.guardian_state(f.ana).status(h.clock.now_us()), domain::kStatusMustChange);
}

TEST(ClaimAccount, WithAChosenLoginIdReservesIt) {
  ClaimFixture f;
  auto& h = f.h;
  const auto before = h.head();

  ASSERT_TRUE(f.claim("ana.rivera", "S-1001", "Ana", "Rivera").ok());

  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "AccountClaimed", "TemporaryPasswordIssued"}));
  EXPECT_EQ(h.login_owner("ana.rivera"), f.ana);
  EXPECT_NE(h.outbox_for("ana@example.com").at(0).body.find("Your User ID is: ana.rivera"), std::string::npos);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana.rivera", h.last_temporary_password("ana@example.com")}).ok());
}

TEST(ClaimAccount, NamesMustMatchExactly) {
  for (const auto& [first, last] : std::vector<std::pair<std::string, std::string>>{
           {"ana", "Rivera"}, {"Ana", "RIVERA"}, {"Anna", "Rivera"}, {"Ana", "Rivera-Cruz"}, {"Luis", "Rivera"}}) {
    ClaimFixture f;
    auto& h = f.h;
    const auto before = h.head();

    auto r = f.claim("", "S-1001", first, last);

    ASSERT_TRUE(r.ok()) << "the answer never says what went wrong";
    EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"}) << first << " " << last;
    auto ev = h.decoded_of<domain::AccountClaimRejected>(before);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].reason, "name_mismatch");
    EXPECT_EQ(ev[0].child_id, "S-1001");
    EXPECT_EQ(ev[0].guardian_id, "");
    EXPECT_TRUE(h.outbox().empty());
    EXPECT_EQ(h.guardian_state(f.ana).status(h.clock.now_us()), domain::kStatusResetRequired);
  }
}

TEST(ClaimAccount, AnUnknownOrInvalidChildAppendsNothing) {
  ClaimFixture f;
  auto& h = f.h;
  const auto before = h.head();

  for (const std::string child : {"S-9999", "s-1001", "", "S 1001"}) {
    auto r = f.claim("", child, "Ana", "Rivera");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->position, 0u) << child;
  }
  EXPECT_TRUE(f.claim("", "S-1001", "", "Rivera").ok());
  EXPECT_TRUE(f.claim("", "S-1001", "Ana", " Rivera").ok());
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(ClaimAccount, AGuardianWhoseLoginWasNotResetCannotClaim) {
  Harness h;
  auto family = h.given_family("Rivera");
  auto ana = h.given_guardian("ana@example.com", "+15551234567", family, "Ana", "Rivera");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, ""}).ok());
  ASSERT_TRUE(h.handlers->add_child(h.staff(), {family, {"S-1001", "Luis", "Rivera"}}).ok());
  const auto before = h.head();

  ASSERT_TRUE(h.handlers->claim_account(h.anonymous(), {"", "S-1001", "Ana", "Rivera"}).ok());

  EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"});
  auto ev = h.decoded_of<domain::AccountClaimRejected>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, "not_reset");
  EXPECT_EQ(ev[0].guardian_id, ana);
  EXPECT_TRUE(h.outbox().empty());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(ClaimAccount, AChosenLoginIdThatIsTakenIsRejected) {
  ClaimFixture f;
  auto& h = f.h;
  auto bob = h.given_guardian("bob@example.com", "", "", "Bob", "Smith");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {bob, kGoodPassword, "bobby"}).ok());
  for (const std::string taken : {"BOBBY", "bob@example.com"}) {
    const auto before = h.head();

    ASSERT_TRUE(f.claim(taken, "S-1001", "Ana", "Rivera").ok());

    EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"}) << taken;
    auto ev = h.decoded_of<domain::AccountClaimRejected>(before);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].reason, "login_id_taken");
    EXPECT_EQ(ev[0].guardian_id, f.ana);
  }
  EXPECT_TRUE(h.outbox_for("ana@example.com").empty());
  EXPECT_EQ(h.guardian_state(f.ana).status(h.clock.now_us()), domain::kStatusResetRequired);
}

TEST(ClaimAccount, AnInvalidChosenLoginIdIsRejected) {
  ClaimFixture f;
  auto& h = f.h;
  const auto before = h.head();

  ASSERT_TRUE(f.claim("a b", "S-1001", "Ana", "Rivera").ok());

  EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"});
  EXPECT_EQ(h.decoded_of<domain::AccountClaimRejected>(before).at(0).reason, "invalid_login_id");
  EXPECT_TRUE(h.outbox().empty());
}

TEST(ClaimAccount, AGuardianNotAllowedToLogInOrWithoutEmailIsRejected) {
  Harness h;
  auto family = h.given_family("Rivera");
  auto ana = h.given_guardian("ana@example.com", "", family, "Ana", "Rivera");
  auto marco = h.given_guardian("", "+15551234567", family, "Marco", "Rivera");
  ASSERT_TRUE(h.handlers->add_child(h.staff(), {family, {"S-1001", "Luis", "Rivera"}}).ok());
  (void)h.handlers->reset_portal_login(h.staff(), {{ana, marco}});
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());

  for (const auto& [first, reason] : std::vector<std::pair<std::string, std::string>>{
           {"Ana", "login_not_allowed"}, {"Marco", "no_email"}}) {
    const auto before = h.head();
    ASSERT_TRUE(h.handlers->claim_account(h.anonymous(), {"", "S-1001", first, "Rivera"}).ok());
    EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"}) << first;
    EXPECT_EQ(h.decoded_of<domain::AccountClaimRejected>(before).at(0).reason, reason);
  }
  EXPECT_TRUE(h.outbox().empty());
}

TEST(ClaimAccount, ASecondClaimAfterSuccessIsRejected) {
  ClaimFixture f;
  auto& h = f.h;
  ASSERT_TRUE(f.claim("", "S-1001", "Ana", "Rivera").ok());
  const auto before = h.head();
  const auto sent = h.outbox().size();

  ASSERT_TRUE(f.claim("", "S-1001", "Ana", "Rivera").ok());

  EXPECT_EQ(h.types_since(before), Types{"AccountClaimRejected"});
  EXPECT_EQ(h.decoded_of<domain::AccountClaimRejected>(before).at(0).reason, "not_reset");
  EXPECT_EQ(h.outbox().size(), sent);
}

}  // namespace
}  // namespace latchkey::testing
