// RegisterFamily, AddGuardian, UpdateGuardianContact, SetLoginAllowed, AddChild
// (commands/src/families.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;

commands::GuardianContact contact(std::string email, std::string phone = "+15551234567",
                                  std::string first = "Ana", std::string last = "Rivera") {
  return {std::move(first), std::move(last), std::move(email), std::move(phone), true};
}

bool holds_no_secret(const std::string& body) {
  return body.find("token=") == std::string::npos && body.find("Temporary password") == std::string::npos &&
         body.find(kGoodPassword) == std::string::npos;
}

// ---- RegisterFamily ---------------------------------------------------------------

TEST(RegisterFamily, AppendsFamilyRegisteredUnderANewId) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = h.handlers->register_family(h.staff(), {"Rivera"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"FamilyRegistered"});
  auto ev = h.decoded_of<domain::FamilyRegistered>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family_id, r->id);
  EXPECT_EQ(ev[0].name, "Rivera");
  auto other = h.handlers->register_family(h.staff(), {"Rivera"});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, r->id) << "two families may share a name, never an id";
}

TEST(RegisterFamily, RefusesABadNameAndAnUnknownTenant) {
  Harness h;
  EXPECT_EQ(code_of(h.handlers->register_family(h.staff(), {"Rivera"})), "not_found");
  const auto before = h.given_tenant();
  for (const std::string& name : std::vector<std::string>{"", " Rivera", "Rivera ", "Riv\nera", std::string(101, 'x')}) {
    auto r = h.handlers->register_family(h.staff(), {name});
    EXPECT_EQ(code_of(r), "invalid_input") << "'" << name << "'";
    EXPECT_EQ(field_of(r), "name");
  }
  EXPECT_EQ(h.head(), before);
}

// ---- AddGuardian --------------------------------------------------------------------

TEST(AddGuardian, ReservesTheEmailAsLoginIdAddsAndLinksTheGuardian) {
  Harness h;
  auto family = h.given_family();
  const auto before = h.head();

  auto r = h.handlers->add_guardian(h.staff(), {family, contact("ana@example.com")});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "GuardianAdded", "GuardianLinked"}));
  auto added = h.decoded_of<domain::GuardianAdded>(before);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].guardian_id, r->id);
  EXPECT_EQ(added[0].family_id, family);
  EXPECT_EQ(added[0].email, "ana@example.com");
  EXPECT_EQ(added[0].phone, "+15551234567");
  EXPECT_TRUE(added[0].can_log_in);
  EXPECT_EQ(h.login_owner("ana@example.com"), r->id);
  EXPECT_EQ(h.family_state(family).guardian_ids, Types{r->id});
}

TEST(AddGuardian, WithoutEmailOrPhoneReservesNothing) {
  Harness h;
  auto family = h.given_family();
  const auto before = h.head();

  auto r = h.handlers->add_guardian(h.staff(), {family, contact("", "")});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"GuardianAdded", "GuardianLinked"}));
}

struct ContactCase {
  commands::GuardianContact contact;
  std::string field;
};

class AddGuardianRefuses : public ::testing::TestWithParam<ContactCase> {};

TEST_P(AddGuardianRefuses, InvalidInputNamingTheFieldAndAppendsNothing) {
  Harness h;
  auto family = h.given_family();
  const auto before = h.head();

  auto r = h.handlers->add_guardian(h.staff(), {family, GetParam().contact});

  EXPECT_EQ(code_of(r), "invalid_input");
  EXPECT_EQ(field_of(r), GetParam().field);
  EXPECT_EQ(h.head(), before);
}

INSTANTIATE_TEST_SUITE_P(
    BadEmail, AddGuardianRefuses,
    ::testing::Values(ContactCase{contact("ana"), "email"}, ContactCase{contact("@example.com"), "email"},
                      ContactCase{contact("ana@"), "email"}, ContactCase{contact("ana@@example.com"), "email"},
                      ContactCase{contact("ana@example"), "email"}, ContactCase{contact("ana@.example.com"), "email"},
                      ContactCase{contact("ana@example.com."), "email"},
                      ContactCase{contact("ana@example..com"), "email"},
                      ContactCase{contact("ana rivera@example.com"), "email"},
                      ContactCase{contact("ana@exa_mple.com"), "email"},
                      ContactCase{contact("ana@b@example.com"), "email"},
                      ContactCase{contact(std::string(65, 'a') + "@example.com"), "email"},
                      ContactCase{contact("ana@" + std::string(250, 'e') + ".com"), "email"}));

INSTANTIATE_TEST_SUITE_P(
    BadPhone, AddGuardianRefuses,
    ::testing::Values(ContactCase{contact("ana@example.com", "5551234567"), "phone"},
                      ContactCase{contact("ana@example.com", "+05551234567"), "phone"},
                      ContactCase{contact("ana@example.com", "+1555123"), "phone"},
                      ContactCase{contact("ana@example.com", "+1555123456789012"), "phone"},
                      ContactCase{contact("ana@example.com", "+1 555 123 4567"), "phone"},
                      ContactCase{contact("ana@example.com", "+1-555-123-4567"), "phone"},
                      ContactCase{contact("ana@example.com", "+1555abc4567"), "phone"},
                      ContactCase{contact("ana@example.com", "++15551234567"), "phone"}));

INSTANTIATE_TEST_SUITE_P(
    BadName, AddGuardianRefuses,
    ::testing::Values(ContactCase{contact("ana@example.com", "+15551234567", "", "Rivera"), "first_name"},
                      ContactCase{contact("ana@example.com", "+15551234567", "Ana", ""), "last_name"},
                      ContactCase{contact("ana@example.com", "+15551234567", " Ana", "Rivera"), "first_name"},
                      ContactCase{contact("ana@example.com", "+15551234567", "Ana", "Rivera\t"), "last_name"},
                      ContactCase{contact("ana@example.com", "+15551234567", std::string(101, 'A'), "Rivera"),
                                  "first_name"}));

TEST(AddGuardian, AcceptsTheBoundsOfPhoneAndEmail) {
  Harness h;
  auto family = h.given_family();
  for (const auto& c : {contact("a@b.co", "+12345678"), contact("x.y+tag@sub.example.org", "+123456789012345"),
                        contact(std::string(64, 'l') + "@example.com", "")}) {
    auto r = h.handlers->add_guardian(h.staff(), {family, c});
    EXPECT_TRUE(r.ok()) << c.email << " " << c.phone << ": " << code_of(r);
  }
}

TEST(AddGuardian, RefusesAnEmailTakenByAnotherGuardianCaseInsensitively) {
  Harness h;
  h.given_guardian("ana@example.com");
  auto family = h.given_family("Smith");
  const auto before = h.head();

  auto r = h.handlers->add_guardian(h.staff(), {family, contact("ANA@Example.COM", "", "Bob", "Smith")});

  EXPECT_EQ(code_of(r), "email_taken");
  EXPECT_EQ(field_of(r), "email");
  EXPECT_EQ(h.head(), before);
}

TEST(AddGuardian, RefusesAnUnknownFamilyWithNotFound) {
  Harness h;
  const auto before = h.given_tenant();
  EXPECT_EQ(code_of(h.handlers->add_guardian(h.staff(), {"no-such-family", contact("ana@example.com")})),
            "not_found");
  EXPECT_EQ(code_of(h.handlers->add_guardian(h.staff(), {"bad id!", contact("ana@example.com")})), "not_found");
  EXPECT_EQ(code_of(h.handlers->add_guardian(h.staff(), {"", contact("ana@example.com")})), "not_found");
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.login_owner("ana@example.com"), "");
}

// ---- UpdateGuardianContact ------------------------------------------------------------

TEST(UpdateGuardianContact, AnEmailChangeMovesTheRegistryEntry) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "ana.rivera@example.org", {}});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "LoginIdReleased", "GuardianContactUpdated"}));
  auto ev = h.decoded_of<domain::GuardianContactUpdated>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].email, "ana.rivera@example.org");
  EXPECT_EQ(ev[0].previous_email, "ana@example.com");
  EXPECT_EQ(ev[0].changed, Types{"email"});
  EXPECT_EQ(ev[0].first_name, "Ana");
  EXPECT_EQ(ev[0].phone, "+15551234567");
  EXPECT_EQ(h.login_owner("ana.rivera@example.org"), ana);
  EXPECT_EQ(h.login_owner("ana@example.com"), "");
}

TEST(UpdateGuardianContact, TheOldEmailIsFreeForAnotherGuardianAfterwards) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "ana@example.org", {}}).ok());

  auto family = h.given_family("Smith");
  auto bob = h.handlers->add_guardian(h.staff(), {family, contact("ANA@example.com", "", "Bob", "Smith")});

  ASSERT_TRUE(bob.ok()) << bob.error().code;
  EXPECT_EQ(h.login_owner("ana@example.com"), bob->id);
}

TEST(UpdateGuardianContact, RefusesAnEmailTakenByAnotherGuardian) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  h.given_guardian("bob@example.com", "", "", "Bob", "Smith");
  const auto before = h.head();

  auto r = h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "Bob@Example.com", {}});

  EXPECT_EQ(code_of(r), "email_taken");
  EXPECT_EQ(field_of(r), "email");
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.login_owner("ana@example.com"), ana);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(UpdateGuardianContact, TheLoginIdFollowsTheEmailUntilCustomised) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");

  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "ana@example.org", {}}).ok());

  const auto before = h.head();
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})),
            "invalid_credentials");
  EXPECT_EQ(h.head(), before) << "the old email is nobody's login any more";
  auto in = h.handlers->log_in(h.anonymous(), {"ana@example.org", kGoodPassword});
  ASSERT_TRUE(in.ok()) << in.error().code;
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].login_id, "ana@example.org");
}

TEST(UpdateGuardianContact, ACustomisedLoginIdStaysWhenTheEmailChanges) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto session = h.given_session("ana@example.com");
  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(ana), {session, "ana.rivera"}).ok());

  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "ana@example.org", {}}).ok());

  const auto before = h.head();
  auto in = h.handlers->log_in(h.anonymous(), {"ana.rivera", kGoodPassword});
  ASSERT_TRUE(in.ok()) << in.error().code;
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].login_id, "ana.rivera");
  EXPECT_EQ(h.login_owner("ana.rivera"), ana);
}

TEST(UpdateGuardianContact, AnEmailChangeNotifiesTheOldAndTheNewAddressWithoutASecret) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");

  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {ana, {}, {}, "ana@example.org", {}}).ok());

  auto to_old = h.outbox_for("ana@example.com");
  auto to_new = h.outbox_for("ana@example.org");
  ASSERT_EQ(to_old.size(), 1u);
  ASSERT_EQ(to_new.size(), 1u);
  for (const auto& m : {to_old[0], to_new[0]}) {
    EXPECT_EQ(m.kind, "email_changed");
    EXPECT_EQ(m.channel, "email");
    EXPECT_EQ(m.guardian_id, ana);
    EXPECT_TRUE(holds_no_secret(m.body)) << m.body;
    EXPECT_NE(m.body.find("a***@example.com"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("a***@example.org"), std::string::npos) << m.body;
  }
  EXPECT_EQ(h.outbox().size(), 2u);
}

TEST(UpdateGuardianContact, OtherFieldsChangeWithoutTouchingTheRegistryOrSendingNotices) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->update_guardian_contact(h.staff(), {ana, "Anna", "Rivera-Cruz", {}, "+15559876543"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"GuardianContactUpdated"});
  auto ev = h.decoded_of<domain::GuardianContactUpdated>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].changed, (Types{"first_name", "last_name", "phone"}));
  EXPECT_EQ(ev[0].email, "ana@example.com");
  EXPECT_TRUE(h.outbox().empty());
  auto g = h.guardian_state(ana);
  EXPECT_EQ(g.first_name, "Anna");
  EXPECT_EQ(g.last_name, "Rivera-Cruz");
  EXPECT_EQ(g.phone, "+15559876543");
}

TEST(UpdateGuardianContact, ThatChangesNothingAppendsNothing) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  for (const commands::UpdateGuardianContact& cmd :
       {commands::UpdateGuardianContact{ana, {}, {}, {}, {}},
        commands::UpdateGuardianContact{ana, "Ana", "Rivera", "ana@example.com", "+15551234567"}}) {
    auto r = h.handlers->update_guardian_contact(h.staff(), cmd);
    ASSERT_TRUE(r.ok()) << r.error().code;
    EXPECT_EQ(r->position, before);
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(UpdateGuardianContact, RefusesBadInputAndAnUnknownGuardian) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  struct Case {
    commands::UpdateGuardianContact cmd;
    std::string code, field;
  };
  const std::vector<Case> cases = {
      {{ana, "", {}, {}, {}}, "invalid_input", "first_name"},
      {{ana, {}, " Rivera", {}, {}}, "invalid_input", "last_name"},
      {{ana, {}, {}, "not-an-email", {}}, "invalid_input", "email"},
      {{ana, {}, {}, "ana@example", {}}, "invalid_input", "email"},
      {{ana, {}, {}, {}, "555-1234"}, "invalid_input", "phone"},
      {{ana, {}, {}, {}, "+0555123456"}, "invalid_input", "phone"},
      {{"no-such-guardian", "Anna", {}, {}, {}}, "not_found", ""},
      {{"", "Anna", {}, {}, {}}, "not_found", ""},
  };
  for (const auto& c : cases) {
    auto r = h.handlers->update_guardian_contact(h.staff(), c.cmd);
    EXPECT_EQ(code_of(r), c.code) << c.field;
    EXPECT_EQ(field_of(r), c.field);
  }
  EXPECT_EQ(h.head(), before);
}

// ---- SetLoginAllowed ----------------------------------------------------------------

TEST(SetLoginAllowed, FalseRevokesEverySession) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto s1 = h.given_session("ana@example.com");
  auto s2 = h.given_session("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->set_login_allowed(h.staff(), {ana, false});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"LoginPermissionChanged"});
  auto ev = h.decoded_of<domain::LoginPermissionChanged>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].can_log_in);
  EXPECT_EQ(ev[0].revoked_sessions.size(), 2u);
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, s1)), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, s2)), "session_invalid");
}

TEST(SetLoginAllowed, FalseBlocksLogInStaffResetsAndTemporaryPasswords) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  auto before = h.head();

  auto staff_reset = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{ana, "email"});
  EXPECT_EQ(code_of(staff_reset), "login_not_allowed");
  auto temporary = h.handlers->issue_temporary_password(h.staff(), {ana});
  EXPECT_EQ(code_of(temporary), "login_not_allowed");
  EXPECT_EQ(h.head(), before);

  auto login = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});
  EXPECT_EQ(code_of(login), "invalid_credentials");
  EXPECT_EQ(h.types_since(before), Types{"LoginFailed"});
  auto failed = h.decoded_of<domain::LoginFailed>(before);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "login_not_allowed");
  EXPECT_TRUE(h.outbox().empty());
}

TEST(SetLoginAllowed, FalseMakesSelfServiceResetSendNothing) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  const auto before = h.head();

  auto r = h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{"ana@example.com"});

  ASSERT_TRUE(r.ok()) << "self-service never refuses";
  EXPECT_EQ(r->position, 0u);
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(SetLoginAllowed, SettingTheSameValueAppendsNothingAndTrueLetsTheGuardianBackIn) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  auto before = h.head();
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, true}).ok());
  EXPECT_EQ(h.head(), before);

  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  before = h.head();
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  EXPECT_EQ(h.head(), before);

  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, true}).ok());
  EXPECT_EQ(h.types_since(before), Types{"LoginPermissionChanged"});
  auto ev = h.decoded_of<domain::LoginPermissionChanged>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].can_log_in);
  EXPECT_TRUE(ev[0].revoked_sessions.empty());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(SetLoginAllowed, RefusesAnUnknownGuardian) {
  Harness h;
  const auto before = h.given_tenant();
  EXPECT_EQ(code_of(h.handlers->set_login_allowed(h.staff(), {"no-such-guardian", false})), "not_found");
  EXPECT_EQ(h.head(), before);
}

// ---- AddChild -------------------------------------------------------------------------

TEST(AddChild, AppendsChildAddedUnderItsIdNumber) {
  Harness h;
  auto family = h.given_family();
  const auto before = h.head();

  auto r = h.handlers->add_child(h.staff(), {family, {"S-1001", "Luis", "Rivera"}});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(r->id, "S-1001");
  EXPECT_EQ(h.types_since(before), Types{"ChildAdded"});
  auto ev = h.decoded_of<domain::ChildAdded>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family_id, family);
  EXPECT_EQ(ev[0].first_name, "Luis");
}

TEST(AddChild, RefusesAChildIdThatExistsInAnyFamily) {
  Harness h;
  auto rivera = h.given_family("Rivera");
  auto smith = h.given_family("Smith");
  ASSERT_TRUE(h.handlers->add_child(h.staff(), {rivera, {"S-1001", "Luis", "Rivera"}}).ok());
  const auto before = h.head();

  auto same_family = h.handlers->add_child(h.staff(), {rivera, {"S-1001", "Luis", "Rivera"}});
  auto other_family = h.handlers->add_child(h.staff(), {smith, {"S-1001", "Mia", "Smith"}});

  EXPECT_EQ(code_of(same_family), "child_exists");
  EXPECT_EQ(field_of(same_family), "child_id");
  EXPECT_EQ(code_of(other_family), "child_exists");
  EXPECT_EQ(h.head(), before);
}

TEST(AddChild, RefusesBadInputAndAnUnknownFamily) {
  Harness h;
  auto family = h.given_family();
  const auto before = h.head();
  struct Case {
    commands::AddChild cmd;
    std::string code, field;
  };
  const std::vector<Case> cases = {
      {{family, {"", "Luis", "Rivera"}}, "invalid_input", "child_id"},
      {{family, {"S 1001", "Luis", "Rivera"}}, "invalid_input", "child_id"},
      {{family, {"S:1001", "Luis", "Rivera"}}, "invalid_input", "child_id"},
      {{family, {std::string(65, '1'), "Luis", "Rivera"}}, "invalid_input", "child_id"},
      {{family, {"S-1001", "", "Rivera"}}, "invalid_input", "first_name"},
      {{family, {"S-1001", "Luis", ""}}, "invalid_input", "last_name"},
      {{"no-such-family", {"S-1001", "Luis", "Rivera"}}, "not_found", ""},
  };
  for (const auto& c : cases) {
    auto r = h.handlers->add_child(h.staff(), c.cmd);
    EXPECT_EQ(code_of(r), c.code) << c.cmd.child.child_id;
    EXPECT_EQ(field_of(r), c.field) << c.cmd.child.child_id;
  }
  EXPECT_EQ(h.head(), before);
}

}  // namespace
}  // namespace latchkey::testing
