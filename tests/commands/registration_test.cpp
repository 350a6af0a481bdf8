// Online registration (register_online) and RegisterPortalAccount
// (commands/src/registration.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;

commands::RegistrationGuardian guardian(std::string email, std::string password = "", std::string login_id = "",
                                        std::string first = "Ana", std::string last = "Rivera") {
  return {{std::move(first), std::move(last), std::move(email), "+15551234567", true}, std::move(password),
          std::move(login_id)};
}

commands::Register rivera_family() {
  return {"Rivera",
          {guardian("ana@example.com", kGoodPassword), guardian("marco@example.com", "", "", "Marco", "Rivera")},
          {{"S-1001", "Luis", "Rivera"}, {"S-1002", "Sofia", "Rivera"}}};
}

// ---- register_online -----------------------------------------------------------------

TEST(RegisterOnline, AppendsTheWholeFamilyInOneAtomicAppend) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = h.handlers->register_online(h.registrar(), rivera_family());

  ASSERT_TRUE(r.ok()) << r.error().code << " " << r.error().field;
  EXPECT_EQ(h.types_since(before),
            (Types{"FamilyRegistered", "GuardianLinked", "GuardianLinked", "LoginIdReserved", "GuardianAdded",
                   "PortalAccountRegistered", "LoginIdReserved", "GuardianAdded", "ChildAdded", "ChildAdded"}));
  EXPECT_EQ(r->position, h.head());
  ASSERT_EQ(r->guardian_ids.size(), 2u);
  EXPECT_NE(r->guardian_ids[0], r->guardian_ids[1]);
  EXPECT_EQ(r->child_ids, (Types{"S-1001", "S-1002"}));
  EXPECT_EQ(h.family_state(r->family_id).guardian_ids, r->guardian_ids);
  EXPECT_EQ(h.login_owner("ana@example.com"), r->guardian_ids[0]);
  EXPECT_EQ(h.login_owner("marco@example.com"), r->guardian_ids[1]);
  // Every event of the registration carries the same time and correlation id.
  for (const auto& e : h.events_since(before)) {
    EXPECT_EQ(e.data.correlation_id, "corr-test");
    EXPECT_EQ(e.data.recorded_at_us, h.clock.now_us());
  }
  // Only the hash of the password is stored.
  auto account = h.decoded_of<domain::PortalAccountRegistered>(before);
  ASSERT_EQ(account.size(), 1u);
  EXPECT_EQ(account[0].guardian_id, r->guardian_ids[0]);
  EXPECT_EQ(account[0].login_id, "ana@example.com");
  EXPECT_TRUE(h.hasher.verify(account[0].password_hash, kGoodPassword));
  for (const auto& e : h.events_since(before)) {
    EXPECT_EQ(e.data.payload.find(kGoodPassword), std::string::npos);
  }
}

TEST(RegisterOnline, TheGuardianWithAPasswordCanLogInAtOnceTheOtherCannot) {
  Harness h;
  h.given_tenant();
  auto r = h.handlers->register_online(h.registrar(), rivera_family());
  ASSERT_TRUE(r.ok());
  const auto before = h.head();

  auto ana = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});
  ASSERT_TRUE(ana.ok()) << ana.error().code;
  EXPECT_EQ(ana->guardian_id, r->guardian_ids[0]);
  EXPECT_FALSE(ana->must_change_password);
  auto ok = h.decoded_of<domain::LoginSucceeded>(before);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_TRUE(ok[0].first_login);

  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"marco@example.com", kGoodPassword})),
            "invalid_credentials");
}

TEST(RegisterOnline, ACustomLoginIdIsReservedAndLogsIn) {
  Harness h;
  const auto before = h.given_tenant();
  commands::Register cmd{"Rivera", {guardian("ana@example.com", kGoodPassword, "ana.rivera")}, {}};

  auto r = h.handlers->register_online(h.registrar(), cmd);

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"FamilyRegistered", "GuardianLinked", "LoginIdReserved", "GuardianAdded",
                                          "PortalAccountRegistered", "LoginIdReserved"}));
  EXPECT_EQ(h.login_owner("ana.rivera"), r->guardian_ids[0]);
  EXPECT_EQ(h.login_owner("ana@example.com"), r->guardian_ids[0]);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ANA.Rivera", kGoodPassword}).ok());
}

TEST(RegisterOnline, AGuardianWithoutEmailCanRegisterWithALoginId) {
  Harness h;
  h.given_tenant();
  commands::Register cmd{"Rivera", {guardian("", kGoodPassword, "marco.r", "Marco")}, {}};

  auto r = h.handlers->register_online(h.registrar(), cmd);

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"marco.r", kGoodPassword}).ok());
}

struct RegistrationCase {
  std::string name;
  commands::Register cmd;
  std::string code;
  std::string field;
};

class RegisterOnlineRefuses : public ::testing::TestWithParam<RegistrationCase> {};

TEST_P(RegisterOnlineRefuses, AndAppendsNothing) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = h.handlers->register_online(h.registrar(), GetParam().cmd);

  EXPECT_EQ(code_of(r), GetParam().code);
  EXPECT_EQ(field_of(r), GetParam().field);
  EXPECT_EQ(h.head(), before);
}

std::vector<commands::RegistrationGuardian> many_guardians(std::size_t n) {
  std::vector<commands::RegistrationGuardian> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(guardian("g" + std::to_string(i) + "@example.com"));
  return out;
}

std::vector<commands::ChildInput> many_children(std::size_t n) {
  std::vector<commands::ChildInput> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"S-" + std::to_string(i), "Kid", "Rivera"});
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegisterOnlineRefuses,
    ::testing::Values(
        RegistrationCase{"DuplicateEmails",
                         {"Rivera",
                          {guardian("ana@example.com"), guardian("ANA@example.com", "", "", "Marco")},
                          {}},
                         "email_taken",
                         "guardians[1].email"},
        RegistrationCase{"LoginIdOfOneIsTheEmailOfAnother",
                         {"Rivera",
                          {guardian("ana@example.com"),
                           guardian("marco@example.com", kGoodPassword, "Ana@Example.com", "Marco")},
                          {}},
                         "login_id_taken",
                         "guardians[1].login_id"},
        RegistrationCase{"DuplicateLoginIds",
                         {"Rivera",
                          {guardian("ana@example.com", kGoodPassword, "rivera"),
                           guardian("marco@example.com", kGoodPassword, "RIVERA", "Marco")},
                          {}},
                         "login_id_taken",
                         "guardians[1].login_id"},
        RegistrationCase{"DuplicateChildIds",
                         {"Rivera", {guardian("ana@example.com")}, {{"S-1", "Luis", "Rivera"}, {"S-1", "Sofia", "Rivera"}}},
                         "child_exists",
                         "children[1].child_id"},
        RegistrationCase{"PasswordPolicy",
                         {"Rivera", {guardian("ana@example.com", "password")}, {}},
                         "password_policy",
                         "guardians[0].password"},
        RegistrationCase{"PasswordPolicyOfTheSecondGuardian",
                         {"Rivera",
                          {guardian("ana@example.com", kGoodPassword),
                           guardian("marco@example.com", "Marco7Rivera1", "", "Marco")},
                          {}},
                         "password_policy",
                         "guardians[1].password"},
        RegistrationCase{"PasswordWithoutEmailOrLoginId",
                         {"Rivera", {guardian("", kGoodPassword)}, {}},
                         "invalid_input",
                         "guardians[0].login_id"},
        RegistrationCase{"BadLoginId",
                         {"Rivera", {guardian("ana@example.com", kGoodPassword, "a b")}, {}},
                         "invalid_input",
                         "guardians[0].login_id"},
        RegistrationCase{"NoGuardians", {"Rivera", {}, {}}, "invalid_input", "guardians"},
        RegistrationCase{"ElevenGuardians", {"Rivera", many_guardians(11), {}}, "invalid_input", "guardians"},
        RegistrationCase{"TwentyOneChildren",
                         {"Rivera", {guardian("ana@example.com")}, many_children(21)},
                         "invalid_input",
                         "children"},
        RegistrationCase{"MissingFamilyName", {"", {guardian("ana@example.com")}, {}}, "invalid_input", "family_name"},
        RegistrationCase{"BadEmail",
                         {"Rivera", {guardian("ana@example.com"), guardian("marco@", "", "", "Marco")}, {}},
                         "invalid_input",
                         "guardians[1].email"},
        RegistrationCase{"MissingFirstName",
                         {"Rivera", {guardian("ana@example.com", "", "", "")}, {}},
                         "invalid_input",
                         "guardians[0].first_name"},
        RegistrationCase{"BadChildId",
                         {"Rivera", {guardian("ana@example.com")}, {{"S 1", "Luis", "Rivera"}}},
                         "invalid_input",
                         "children[0].child_id"},
        RegistrationCase{"MissingChildName",
                         {"Rivera", {guardian("ana@example.com")}, {{"S-1", "Luis", ""}}},
                         "invalid_input",
                         "children[0].last_name"}),
    [](const auto& info) { return info.param.name; });

TEST(RegisterOnline, ThePasswordPolicyRefusalListsTheUnmetRules) {
  Harness h;
  const auto before = h.given_tenant();
  commands::Register cmd{"Rivera", {guardian("ana@example.com", "short")}, {}};

  auto r = h.handlers->register_online(h.registrar(), cmd);

  EXPECT_EQ(code_of(r), "password_policy");
  EXPECT_EQ(field_of(r), "guardians[0].password");
  EXPECT_EQ(details_of(r), (Types{"min_length", "upper", "digit"}));
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterOnline, RefusesAnEmailOrChildIdThatExistsAndAppendsNoneOfTheRegistration) {
  Harness h;
  h.given_guardian("marco@example.com", "", "", "Marco", "Rivera");
  auto family = h.given_family("Other");
  ASSERT_TRUE(h.handlers->add_child(h.staff(), {family, {"S-1002", "Sofia", "Other"}}).ok());
  const auto before = h.head();

  auto email_taken = h.handlers->register_online(h.registrar(), rivera_family());
  EXPECT_EQ(code_of(email_taken), "email_taken");
  EXPECT_EQ(field_of(email_taken), "guardians[1].email");

  auto cmd = rivera_family();
  cmd.guardians[1].contact.email = "marco.rivera@example.com";
  auto child_exists = h.handlers->register_online(h.registrar(), cmd);
  EXPECT_EQ(code_of(child_exists), "child_exists");
  EXPECT_EQ(field_of(child_exists), "children[1].child_id");

  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.login_owner("ana@example.com"), "");
}

TEST(RegisterOnline, RefusesALoginIdHeldByAnotherGuardian) {
  Harness h;
  h.given_guardian("marco@example.com", "", "", "Marco", "Rivera");
  const auto before = h.head();
  commands::Register cmd{"Rivera", {guardian("ana@example.com", kGoodPassword, "MARCO@example.com")}, {}};

  auto r = h.handlers->register_online(h.registrar(), cmd);

  EXPECT_EQ(code_of(r), "login_id_taken");
  EXPECT_EQ(field_of(r), "guardians[0].login_id");
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterOnline, RefusesAnUnknownTenant) {
  Harness h;
  EXPECT_EQ(code_of(h.handlers->register_online(h.registrar(), rivera_family())), "not_found");
  EXPECT_EQ(h.head(), 0u);
}

// ---- RegisterPortalAccount ----------------------------------------------------------

TEST(RegisterPortalAccount, StoresTheHashUnderTheEmailAsLoginId) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, ""});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PortalAccountRegistered"});
  auto ev = h.decoded_of<domain::PortalAccountRegistered>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].login_id, "ana@example.com");
  EXPECT_TRUE(h.hasher.verify(ev[0].password_hash, kGoodPassword));
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(kGoodPassword), std::string::npos);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(RegisterPortalAccount, ACustomLoginIdIsReserved) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, "ana.rivera"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "PortalAccountRegistered"}));
  EXPECT_EQ(h.login_owner("ana.rivera"), ana);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana.rivera", kGoodPassword}).ok());
}

TEST(RegisterPortalAccount, RefusesAGuardianWhoIsAlreadyRegistered) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  const auto before = h.head();

  auto r = h.handlers->register_portal_account(h.staff(), {ana, kOtherGoodPassword, ""});

  EXPECT_EQ(code_of(r), "already_registered");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(RegisterPortalAccount, AGuardianWithATemporaryPasswordIsAlreadyRegistered) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->register_portal_account(h.staff(), {ana, kOtherGoodPassword, ""})),
            "already_registered");
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterPortalAccount, AGuardianWhoUsedATemporaryPasswordIsStillRegistered) {
  Harness h;
  auto ana = h.given_registered_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {ana}).ok());
  h.given_session("ana@example.com", h.last_temporary_password("ana@example.com"));
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->register_portal_account(h.staff(), {ana, kOtherGoodPassword, ""})),
            "already_registered");
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterPortalAccount, RefusesALoginIdTakenCaseInsensitively) {
  Harness h;
  auto bob = h.given_guardian("bob@example.com", "", "", "Bob", "Smith");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {bob, kGoodPassword, "bobby"}).ok());
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();

  for (const std::string taken : {"BOBBY", "Bob@Example.com"}) {
    auto r = h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, taken});
    EXPECT_EQ(code_of(r), "login_id_taken") << taken;
    EXPECT_EQ(field_of(r), "login_id") << taken;
  }
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterPortalAccount, RefusesAnInvalidLoginId) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  const auto before = h.head();
  for (const std::string& bad : std::vector<std::string>{"ab", "ana rivera", "ana/rivera", "ana:r",
                                                         std::string(129, 'a'), "añа"}) {
    auto r = h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, bad});
    EXPECT_EQ(code_of(r), "invalid_input") << bad;
    EXPECT_EQ(field_of(r), "login_id") << bad;
  }
  EXPECT_EQ(h.head(), before);
}

struct PolicyCase {
  std::string password;
  std::vector<std::string> unmet;
};

class RegisterPortalAccountPasswordPolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(RegisterPortalAccountPasswordPolicy, ListsEveryUnmetRuleAndAppendsNothing) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");  // Ana Rivera
  const auto before = h.head();

  auto r = h.handlers->register_portal_account(h.staff(), {ana, GetParam().password, "skyrunner"});

  EXPECT_EQ(code_of(r), "password_policy");
  EXPECT_EQ(field_of(r), "password");
  EXPECT_EQ(details_of(r), GetParam().unmet);
  if (!r.ok() && !GetParam().password.empty()) {
    EXPECT_EQ(r.error().message.find(GetParam().password), std::string::npos) << "no secret in errors";
  }
  EXPECT_EQ(h.head(), before);
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, RegisterPortalAccountPasswordPolicy,
    ::testing::Values(PolicyCase{"Sh0rtPw", {"min_length"}},
                      PolicyCase{"lowercase7horse", {"upper"}},
                      PolicyCase{"UPPERCASE7HORSE", {"lower"}},
                      PolicyCase{"NoDigitsHereAtAll", {"digit"}},
                      PolicyCase{"Sunshine2024", {"common_password"}},
                      PolicyCase{"Rivera7Canyon", {"contains_personal_info"}},      // last name
                      PolicyCase{"Bigana7Canyon", {"contains_personal_info"}},      // first name / email
                      PolicyCase{"Skyrunner77X", {"contains_personal_info"}},       // login ID
                      PolicyCase{"short", {"min_length", "upper", "digit"}},
                      PolicyCase{"abc", {"min_length", "upper", "digit", "common_password"}},
                      PolicyCase{"", {"min_length", "lower", "upper", "digit"}},
                      PolicyCase{"Aa1" + std::string(254, 'x'), {"max_length"}},
                      PolicyCase{"Valid7Pass\xff", {"invalid_utf8"}}));

TEST(RegisterPortalAccount, APasswordMeetingTheTenantsOwnPolicyIsAccepted) {
  Harness h;
  h.given_tenant(R"({"password_policy": {"min_length": 8, "require_upper": false, "require_digit": false},
                     "reject_common_passwords": false})");
  auto ana = h.given_guardian("ana@example.com");
  EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, "sunshine", ""}).ok());
}

TEST(RegisterPortalAccount, RefusesWhenLoginIsNotAllowedOrTheAccountMustBeClaimed) {
  Harness h;
  auto ana = h.given_guardian("ana@example.com");
  ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {ana, false}).ok());
  auto bob = h.given_registered_guardian("bob@example.com");
  (void)h.handlers->reset_portal_login(h.staff(), {{bob}});
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, ""})), "login_not_allowed");
  EXPECT_EQ(code_of(h.handlers->register_portal_account(h.staff(), {bob, kGoodPassword, ""})),
            "account_reset_required");
  EXPECT_EQ(h.head(), before);
}

TEST(RegisterPortalAccount, RefusesAnUnknownGuardianAndAGuardianWithoutLoginId) {
  Harness h;
  auto marco = h.given_guardian("", "", "", "Marco", "Rivera");
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->register_portal_account(h.staff(), {"no-such-guardian", kGoodPassword, ""})),
            "not_found");
  auto r = h.handlers->register_portal_account(h.staff(), {marco, kGoodPassword, ""});
  EXPECT_EQ(code_of(r), "invalid_input");
  EXPECT_EQ(field_of(r), "login_id");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {marco, kGoodPassword, "marco.r"}).ok());
}

}  // namespace
}  // namespace latchkey::testing
