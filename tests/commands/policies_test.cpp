// PublishPolicy, AcceptPolicy, ManuallyAcceptPolicy (commands/src/policies.cpp).
#include <gmock/gmock.h>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using Types = std::vector<std::string>;

// SHA-256("abc") and SHA-256("") (FIPS 180-2 test vectors).
const std::string kShaOfAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kShaOfEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Result<commands::Accepted> publish(Harness& h, const std::string& id, std::int64_t version, const std::string& text,
                                   const std::string& sha = "", const std::string& title = "Privacy policy") {
  return h.handlers->publish_policy(h.admin(), {id, title, version, text, sha});
}

// ---- PublishPolicy ------------------------------------------------------------------------

TEST(PublishPolicy, FromTheTextRecordsItsSha256) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = publish(h, "privacy", 1, "abc");

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PolicyPublished"});
  auto ev = h.decoded_of<domain::PolicyPublished>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].policy_id, "privacy");
  EXPECT_EQ(ev[0].title, "Privacy policy");
  EXPECT_EQ(ev[0].version, 1);
  EXPECT_EQ(ev[0].text_sha256, kShaOfAbc);
}

TEST(PublishPolicy, FromTheShaAloneOrBothWhenTheyMatch) {
  Harness h;
  const auto before = h.given_tenant();

  ASSERT_TRUE(publish(h, "privacy", 1, "", kShaOfEmpty).ok());
  ASSERT_TRUE(publish(h, "privacy", 2, "abc", kShaOfAbc).ok());

  auto ev = h.decoded_of<domain::PolicyPublished>(before);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].text_sha256, kShaOfEmpty);
  EXPECT_EQ(ev[1].text_sha256, kShaOfAbc);
}

TEST(PublishPolicy, RefusesBadInputNamingTheField) {
  Harness h;
  const auto before = h.given_tenant();
  struct Case {
    commands::PublishPolicy cmd;
    std::string field;
  };
  std::string upper = kShaOfAbc;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<Case> cases = {
      {{"privacy", "Privacy", 1, "abc", kShaOfEmpty}, "text_sha256"},             // mismatch
      {{"privacy", "Privacy", 1, "abc", upper}, "text_sha256"},                   // mismatch (case)
      {{"privacy", "Privacy", 1, "", ""}, "text_sha256"},                         // neither
      {{"privacy", "Privacy", 1, "", upper}, "text_sha256"},                      // not lower-case hex
      {{"privacy", "Privacy", 1, "", kShaOfAbc.substr(1)}, "text_sha256"},        // too short
      {{"privacy", "Privacy", 1, "", kShaOfAbc + "0"}, "text_sha256"},            // too long
      {{"privacy", "Privacy", 1, "", "g" + kShaOfAbc.substr(1)}, "text_sha256"},  // not hex
      {{"privacy", "Privacy", 1, std::string(60001, 'x'), ""}, "text"},
      {{"privacy", "Privacy", 0, "abc", ""}, "version"},
      {{"privacy", "Privacy", -1, "abc", ""}, "version"},
      {{"privacy", "Privacy", 1'000'001, "abc", ""}, "version"},
      {{"", "Privacy", 1, "abc", ""}, "policy_id"},
      {{"privacy policy", "Privacy", 1, "abc", ""}, "policy_id"},
      {{"privacy", "", 1, "abc", ""}, "title"},
  };
  for (const auto& c : cases) {
    auto r = h.handlers->publish_policy(h.admin(), c.cmd);
    EXPECT_EQ(code_of(r), "invalid_input") << c.field << " " << c.cmd.text_sha256;
    EXPECT_EQ(field_of(r), c.field) << c.cmd.text_sha256;
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(publish(h, "privacy", 1, std::string(60000, 'x')).ok()) << "60000 bytes is the limit";
}

TEST(PublishPolicy, RefusesAVersionThatIsNotNewer) {
  Harness h;
  h.given_tenant();
  ASSERT_TRUE(publish(h, "privacy", 2, "v2").ok());
  const auto before = h.head();

  for (std::int64_t version : {1, 2}) {
    auto r = publish(h, "privacy", version, "again");
    EXPECT_EQ(code_of(r), "policy_version_exists") << version;
    EXPECT_EQ(field_of(r), "version");
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(publish(h, "privacy", 3, "v3").ok());
  EXPECT_TRUE(publish(h, "photo-consent", 1, "v1").ok()) << "versions are per policy";
}

TEST(PublishPolicy, RefusesAnUnknownTenant) {
  Harness h;
  EXPECT_EQ(code_of(publish(h, "privacy", 1, "abc")), "not_found");
  EXPECT_EQ(h.head(), 0u);
}

// ---- AcceptPolicy --------------------------------------------------------------------------

struct PolicyFixture {
  Harness h;
  std::string family, ana, bob, session;

  PolicyFixture() {
    family = h.given_family("Rivera");
    ana = h.given_guardian("ana@example.com", "", family, "Ana", "Rivera");
    bob = h.given_guardian("bob@example.com", "", family, "Bob", "Rivera");
    EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {ana, kGoodPassword, ""}).ok());
    EXPECT_TRUE(h.handlers->register_portal_account(h.staff(), {bob, kGoodPassword, ""}).ok());
    EXPECT_TRUE(publish(h, "privacy", 1, "v1").ok());
    EXPECT_TRUE(publish(h, "privacy", 2, "v2").ok());
    session = h.given_session("ana@example.com");
  }
};

TEST(AcceptPolicy, RecordsTheFamilysElectronicAcceptanceByTheGuardian) {
  PolicyFixture f;
  auto& h = f.h;
  const auto before = h.head();

  auto r = h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 2});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PolicyAccepted"});
  auto ev = h.decoded_of<domain::PolicyAccepted>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family_id, f.family);
  EXPECT_EQ(ev[0].policy_id, "privacy");
  EXPECT_EQ(ev[0].version, 2);
  EXPECT_EQ(ev[0].guardian_id, f.ana);
  EXPECT_EQ(h.events_since(before)[0].stream_id, "family:" + h.tenant_id + ":" + f.family);
  EXPECT_TRUE(h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 1}).ok())
      << "an older published version can be accepted too";
}

TEST(AcceptPolicy, RefusesAnUnknownPolicyOrVersion) {
  PolicyFixture f;
  auto& h = f.h;
  const auto before = h.head();

  for (const auto& [policy, version] : std::vector<std::pair<std::string, std::int64_t>>{
           {"privacy", 3}, {"privacy", 0}, {"privacy", -1}, {"terms", 1}, {"", 1}}) {
    auto r = h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, policy, version});
    EXPECT_EQ(code_of(r), "policy_unknown") << policy << " v" << version;
    EXPECT_EQ(field_of(r), "version");
  }
  EXPECT_EQ(h.head(), before);
}

TEST(AcceptPolicy, RefusesAVersionTheFamilyHasAlreadyAccepted) {
  PolicyFixture f;
  auto& h = f.h;
  ASSERT_TRUE(h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 2}).ok());
  auto bob_session = h.given_session("bob@example.com");
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 2})), "already_accepted");
  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(f.bob), {bob_session, "privacy", 2})), "already_accepted")
      << "an acceptance is per family";
  EXPECT_EQ(h.head(), before);
}

TEST(AcceptPolicy, RefusesAnInvalidOrMustChangeSession) {
  PolicyFixture f;
  auto& h = f.h;
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {f.bob}).ok());
  auto must_change = h.given_session("bob@example.com", h.last_temporary_password("bob@example.com"));
  const auto before = h.head();

  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(f.ana), {"garbage", "privacy", 2})), "session_invalid");
  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(f.bob), {must_change, "privacy", 2})),
            "password_change_required");
  EXPECT_EQ(h.head(), before);
}

// ---- ManuallyAcceptPolicy ------------------------------------------------------------------------

TEST(ManuallyAcceptPolicy, RecordsTheStaffKeyNameAndReason) {
  PolicyFixture f;
  auto& h = f.h;
  const auto before = h.head();

  auto r = h.handlers->manually_accept_policy(h.staff(),
                                              {f.family, "privacy", 2, "  signed printed form on file  "});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"PolicyManuallyAccepted"});
  auto ev = h.decoded_of<domain::PolicyManuallyAccepted>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].family_id, f.family);
  EXPECT_EQ(ev[0].policy_id, "privacy");
  EXPECT_EQ(ev[0].version, 2);
  EXPECT_EQ(ev[0].staff_key_id, "key-staff");
  EXPECT_EQ(ev[0].staff_name, "Front Desk");
  EXPECT_EQ(ev[0].reason, "signed printed form on file");
  const auto recorded = h.events_since(before)[0].data.actor;
  EXPECT_EQ(recorded.kind, "staff");
  EXPECT_EQ(recorded.id, "key-staff");

  // The family has now accepted: a guardian cannot accept it again.
  EXPECT_EQ(code_of(h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 2})), "already_accepted");
}

TEST(ManuallyAcceptPolicy, RequiresAReason) {
  PolicyFixture f;
  auto& h = f.h;
  const auto before = h.head();

  for (const std::string reason : {"", " ", "   \t  ", "\n"}) {
    auto r = h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 2, reason});
    EXPECT_EQ(code_of(r), "reason_required") << "'" << reason << "'";
    EXPECT_EQ(field_of(r), "reason");
  }
  EXPECT_EQ(h.head(), before);
}

TEST(ManuallyAcceptPolicy, RefusesAnOverlongOrBadReasonAnUnknownPolicyOrFamilyAndATwiceAccepted) {
  PolicyFixture f;
  auto& h = f.h;
  ASSERT_TRUE(h.handlers->accept_policy(h.as_guardian(f.ana), {f.session, "privacy", 1}).ok());
  const auto before = h.head();
  const std::string reason = "signed printed form on file";

  auto long_reason = h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 2, std::string(501, 'r')});
  EXPECT_EQ(code_of(long_reason), "invalid_input");
  EXPECT_EQ(field_of(long_reason), "reason");
  EXPECT_EQ(code_of(h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 2, "form\x01"})),
            "invalid_input");
  EXPECT_EQ(code_of(h.handlers->manually_accept_policy(h.staff(), {f.family, "terms", 1, reason})), "policy_unknown");
  EXPECT_EQ(code_of(h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 3, reason})), "policy_unknown");
  EXPECT_EQ(code_of(h.handlers->manually_accept_policy(h.staff(), {"no-such-family", "privacy", 2, reason})),
            "not_found");
  EXPECT_EQ(code_of(h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 1, reason})),
            "already_accepted");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.handlers->manually_accept_policy(h.staff(), {f.family, "privacy", 2, std::string(500, 'r')}).ok());
}

}  // namespace
}  // namespace latchkey::testing
