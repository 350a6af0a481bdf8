// ChangePassword, ChangeLoginId, SetSecurityQuestion (commands/src/credentials.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;

// A guardian with a portal account and one session opened with their password.
struct LoggedInGuardian {
  std::string id;
  std::string session;
};

LoggedInGuardian given_logged_in(Harness& h, const std::string& email = "ana@example.com") {
  auto id = h.given_registered_guardian(email);
  return {id, h.given_session(email)};
}

// A guardian in a session opened with a temporary password.
LoggedInGuardian given_must_change(Harness& h, const std::string& email = "ana@example.com") {
  auto id = h.given_registered_guardian(email);
  auto issued = h.handlers->issue_temporary_password(h.staff(), {id});
  EXPECT_TRUE(issued.ok());
  return {id, h.given_session(email, h.last_temporary_password(email))};
}

// ---- ChangePassword -------------------------------------------------------------------

TEST(ChangePassword, KeepsThisSessionAndRevokesTheOthers) {
  Harness h;
  auto ana = given_logged_in(h);
  auto other = h.given_session("ana@example.com");
  auto mine = h.handlers->authenticate_session(h.tenant_id, ana.session);
  auto theirs = h.handlers->authenticate_session(h.tenant_id, other);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  const auto before = h.head();

  auto r = h.handlers->change_password(h.as_guardian(ana.id), {ana.session, kGoodPassword, kOtherGoodPassword});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PasswordChanged"});
  auto ev = h.decoded_of<domain::PasswordChanged>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, "changed");
  EXPECT_EQ(ev[0].kept_session_id, mine->session_id);
  EXPECT_EQ(ev[0].revoked_sessions, Types{theirs->session_id});
  EXPECT_TRUE(h.hasher.verify(ev[0].password_hash, kOtherGoodPassword));
  EXPECT_EQ(h.events_since(before)[0].data.payload.find(kOtherGoodPassword), std::string::npos);

  EXPECT_TRUE(h.handlers->authenticate_session(h.tenant_id, ana.session).ok());
  EXPECT_EQ(code_of(h.handlers->authenticate_session(h.tenant_id, other)), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword})), "invalid_credentials");
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword}).ok());
}

TEST(ChangePassword, SendsANoticeThatHoldsNoSecret) {
  Harness h;
  auto ana = given_logged_in(h);

  ASSERT_TRUE(h.handlers->change_password(h.as_guardian(ana.id), {ana.session, kGoodPassword, kOtherGoodPassword}).ok());

  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "password_changed");
  EXPECT_EQ(sent[0].body.find(kOtherGoodPassword), std::string::npos);
  EXPECT_EQ(sent[0].body.find(kGoodPassword), std::string::npos);
  EXPECT_EQ(sent[0].body.find("token="), std::string::npos);
}

TEST(ChangePassword, RefusesAWrongCurrentPasswordAndAppendsNothing) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  for (const std::string& current : {std::string("Wrong7Password"), std::string(""), std::string(300, 'A')}) {
    auto r = h.handlers->change_password(h.as_guardian(ana.id), {ana.session, current, kOtherGoodPassword});
    EXPECT_EQ(code_of(r), "current_password_wrong");
    EXPECT_EQ(field_of(r), "current_password");
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
}

TEST(ChangePassword, RefusesANewPasswordAgainstThePolicyNamingTheRules) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  auto weak = h.handlers->change_password(h.as_guardian(ana.id), {ana.session, kGoodPassword, "weakpass"});
  EXPECT_EQ(code_of(weak), "password_policy");
  EXPECT_EQ(field_of(weak), "new_password");
  EXPECT_EQ(details_of(weak), (Types{"min_length", "upper", "digit"}));

  auto personal = h.handlers->change_password(h.as_guardian(ana.id), {ana.session, kGoodPassword, "MyRivera7Home"});
  EXPECT_EQ(code_of(personal), "password_policy");
  EXPECT_EQ(details_of(personal), Types{"contains_personal_info"}) << "the last name";

  EXPECT_EQ(h.head(), before);
}

TEST(ChangePassword, AMustChangeSessionNeedsNoCurrentPasswordAndIsThenAnOrdinarySession) {
  Harness h;
  auto ana = given_must_change(h);
  auto who = h.handlers->authenticate_session(h.tenant_id, ana.session);
  ASSERT_TRUE(who.ok());
  ASSERT_TRUE(who->must_change_password);
  const auto before = h.head();

  auto r = h.handlers->change_password(h.as_guardian(ana.id), {ana.session, "", kOtherGoodPassword});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PasswordChanged"});
  auto now = h.handlers->authenticate_session(h.tenant_id, ana.session);
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->must_change_password);
  EXPECT_EQ(h.guardian_state(ana.id).status(h.clock.now_us()), domain::kStatusActive);
  auto again = h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->must_change_password);
}

TEST(ChangePassword, RefusesAnInvalidSession) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();
  EXPECT_EQ(code_of(h.handlers->change_password(h.as_guardian(ana.id), {"garbage", kGoodPassword, kOtherGoodPassword})),
            "session_invalid");
  EXPECT_EQ(h.head(), before);
}

// ---- ChangeLoginId ----------------------------------------------------------------------

TEST(ChangeLoginId, ReservesTheNewIdAndNotifiesTheGuardian) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  auto r = h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.rivera"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "LoginIdChanged"}));
  auto ev = h.decoded_of<domain::LoginIdChanged>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].previous_login_id, "ana@example.com");
  EXPECT_EQ(ev[0].login_id, "ana.rivera");
  EXPECT_EQ(h.login_owner("ana.rivera"), ana.id);
  auto sent = h.outbox_for("ana@example.com");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].kind, "login_id_changed");
  EXPECT_NE(sent[0].body.find("ana.rivera"), std::string::npos);
  EXPECT_EQ(sent[0].body.find(kGoodPassword), std::string::npos);
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana.rivera", kGoodPassword}).ok());
}

TEST(ChangeLoginId, RefusesAnIdTakenCaseInsensitively) {
  Harness h;
  auto bob = given_logged_in(h, "bob@example.com");
  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(bob.id), {bob.session, "bobby"}).ok());
  auto ana = given_logged_in(h);
  const auto before = h.head();
  const auto sent = h.outbox().size();

  for (const std::string taken : {"bobby", "BOBBY", "Bob@Example.COM"}) {
    auto r = h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, taken});
    EXPECT_EQ(code_of(r), "login_id_taken") << taken;
    EXPECT_EQ(field_of(r), "login_id") << taken;
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.outbox().size(), sent);
}

TEST(ChangeLoginId, RefusesAnInvalidId) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();
  for (const std::string& bad :
       std::vector<std::string>{"", "ab", "ana rivera", "ana#1", "ana:rivera", std::string(129, 'a'), "ana\n"}) {
    auto r = h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, bad});
    EXPECT_EQ(code_of(r), "invalid_input") << bad;
    EXPECT_EQ(field_of(r), "login_id") << bad;
  }
  EXPECT_EQ(h.head(), before);
}

TEST(ChangeLoginId, TheOldCustomIdIsReleasedAndAnotherGuardianCanTakeIt) {
  Harness h;
  auto ana = given_logged_in(h);
  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.r"}).ok());
  const auto before = h.head();

  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.rivera"}).ok());

  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReserved", "LoginIdReleased", "LoginIdChanged"}));
  EXPECT_EQ(h.login_owner("ana.r"), "");
  EXPECT_EQ(code_of(h.handlers->log_in(h.anonymous(), {"ana.r", kGoodPassword})), "invalid_credentials");

  auto bob = given_logged_in(h, "bob@example.com");
  auto taken = h.handlers->change_login_id(h.as_guardian(bob.id), {bob.session, "Ana.R"});
  ASSERT_TRUE(taken.ok()) << taken.error().code;
  EXPECT_EQ(h.login_owner("ana.r"), bob.id);
  auto in = h.handlers->log_in(h.anonymous(), {"ana.r", kGoodPassword});
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->guardian_id, bob.id);
}

TEST(ChangeLoginId, BackToTheEmailReleasesTheCustomId) {
  Harness h;
  auto ana = given_logged_in(h);
  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.r"}).ok());
  const auto before = h.head();

  ASSERT_TRUE(h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana@example.com"}).ok());

  EXPECT_EQ(h.types_since(before), (Types{"LoginIdReleased", "LoginIdChanged"}));
  EXPECT_EQ(h.login_owner("ana.r"), "");
  EXPECT_EQ(h.login_owner("ana@example.com"), ana.id);
  EXPECT_EQ(h.guardian_state(ana.id).login_id(), "ana@example.com");
}

TEST(ChangeLoginId, TheSameIdAppendsNothing) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  auto r = h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana@example.com"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.outbox().empty());
}

TEST(ChangeLoginId, AMustChangeSessionMustSetAPasswordFirst) {
  Harness h;
  auto ana = given_must_change(h);
  const auto before = h.head();
  const auto sent = h.outbox().size();

  auto r = h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.rivera"});

  EXPECT_EQ(code_of(r), "password_change_required");
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.outbox().size(), sent);
  EXPECT_EQ(h.login_owner("ana.rivera"), "");
}

TEST(ChangeLoginId, RefusesAnInvalidSession) {
  Harness h;
  auto ana = given_logged_in(h);
  ASSERT_TRUE(h.handlers->log_out(h.as_guardian(ana.id), {ana.session}).ok());
  const auto before = h.head();
  EXPECT_EQ(code_of(h.handlers->change_login_id(h.as_guardian(ana.id), {ana.session, "ana.rivera"})),
            "session_invalid");
  EXPECT_EQ(h.head(), before);
}

// ---- SetSecurityQuestion ------------------------------------------------------------------

TEST(SetSecurityQuestion, StoresTheQuestionAndOnlyAHashOfTheNormalisedAnswer) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  auto r = h.handlers->set_security_question(h.as_guardian(ana.id),
                                             {ana.session, kGoodPassword, "First pet's name?", "  Mister   Whiskers "});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"SecurityQuestionSet"});
  auto ev = h.decoded_of<domain::SecurityQuestionSet>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].question, "First pet's name?");
  EXPECT_TRUE(h.hasher.verify(ev[0].answer_hash, "mister whiskers"));
  const auto payload = h.events_since(before)[0].data.payload;
  EXPECT_EQ(payload.find("Whiskers"), std::string::npos);
  EXPECT_EQ(payload.find("whiskers"), std::string::npos);
}

TEST(SetSecurityQuestion, RefusesAWrongCurrentPassword) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();

  auto r = h.handlers->set_security_question(h.as_guardian(ana.id), {ana.session, "Wrong7Password", "Pet?", "Rex"});

  EXPECT_EQ(code_of(r), "current_password_wrong");
  EXPECT_EQ(field_of(r), "current_password");
  EXPECT_EQ(h.head(), before);
}

TEST(SetSecurityQuestion, AMustChangeSessionMustSetAPasswordFirst) {
  Harness h;
  auto ana = given_must_change(h);
  const auto before = h.head();

  auto r = h.handlers->set_security_question(h.as_guardian(ana.id),
                                             {ana.session, h.last_temporary_password("ana@example.com"), "Pet?", "Rex"});

  EXPECT_EQ(code_of(r), "password_change_required");
  EXPECT_EQ(h.head(), before);
}

TEST(SetSecurityQuestion, RefusesABadQuestionOrAnswer) {
  Harness h;
  auto ana = given_logged_in(h);
  const auto before = h.head();
  struct Case {
    std::string question, answer, field;
  };
  const std::vector<Case> cases = {
      {"", "Rex", "question"},
      {std::string(201, 'q'), "Rex", "question"},
      {"Pet?\x01", "Rex", "question"},
      {"Pet?", "", "answer"},
      {"Pet?", "x", "answer"},
      {"Pet?", "   x   ", "answer"},
      {"Pet?", std::string(101, 'a'), "answer"},
      {"Pet?", "Re\x7fx", "answer"},
  };
  for (const auto& c : cases) {
    auto r = h.handlers->set_security_question(h.as_guardian(ana.id), {ana.session, kGoodPassword, c.question, c.answer});
    EXPECT_EQ(code_of(r), "invalid_input") << c.question << " / " << c.answer;
    EXPECT_EQ(field_of(r), c.field) << c.question << " / " << c.answer;
  }
  EXPECT_EQ(h.head(), before);
}

TEST(SetSecurityQuestion, RefusesAnInvalidSession) {
  Harness h;
  given_logged_in(h);
  const auto before = h.head();
  EXPECT_EQ(code_of(h.handlers->set_security_question(h.anonymous(), {"garbage", kGoodPassword, "Pet?", "Rex"})),
            "session_invalid");
  EXPECT_EQ(h.head(), before);
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

TEST(ChangeLoginIdRegression, ACustomIdThatBecameTheEmailKeepsTheEmailReserved) {
  Harness h;
  const auto g = h.given_registered_guardian("ana@example.com");
  auto s = h.given_session("ana@example.com");
  ASSERT_TRUE(h.handlers->change_login_id(h.anonymous(), {s, "kim@new.org"}).ok());
  // Staff make the custom login ID the email (in another case).
  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {g, std::nullopt, std::nullopt,
                                                              std::string("Kim@new.org"), std::nullopt}).ok());
  ASSERT_TRUE(h.handlers->change_login_id(h.anonymous(), {s, "kim2"}).ok());
  // The email is still this guardian's: nobody else may take it.
  auto taken = [&] {
    auto other = h.handlers->add_guardian(h.staff(), {h.given_family("Other"), {"Kim", "Other", "kim@new.org", "", true}});
    return !other.ok() && other.error().code == "email_taken";
  };
  EXPECT_TRUE(taken());
  h.handlers->reset_portal_login(h.staff(), {{g}});
  EXPECT_TRUE(taken());
}

}  // namespace
}  // namespace latchkey::testing
