// CreateTenant, ConfigureTenant, AddSmsCredits, IssueApiKey, RevokeApiKey
// (commands/src/tenant_admin.cpp).
#include <gmock/gmock.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

using ::testing::UnorderedElementsAre;
using Types = std::vector<std::string>;

// ---- CreateTenant -------------------------------------------------------------

TEST(CreateTenant, AppendsTenantCreatedWithTheDefaultSettings) {
  Harness h;
  const auto before = h.head();

  auto r = h.handlers->create_tenant(h.platform(), {"sunny-days", "Sunny Days Daycare"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"TenantCreated"});
  EXPECT_EQ(r->position, h.head());
  auto events = h.events_since(before);
  EXPECT_EQ(events[0].stream_id, "tenant:sunny-days");
  EXPECT_EQ(events[0].data.tenant, "sunny-days");
  auto created = h.decoded_of<domain::TenantCreated>(before);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].name, "Sunny Days Daycare");
  EXPECT_EQ(created[0].settings, domain::TenantSettings{});
}

TEST(CreateTenant, AcceptsIdsAtTheBoundsOfTheirShape) {
  for (const std::string& id : std::vector<std::string>{"ab", std::string(40, 'z'), "0-9", "a--b"}) {
    Harness h;
    auto r = h.handlers->create_tenant(h.platform(), {id, "Name"});
    EXPECT_TRUE(r.ok()) << id << ": " << code_of(r);
  }
}

TEST(CreateTenant, RefusesABadIdAndAppendsNothing) {
  const std::vector<std::string> bad = {"",           "a",           std::string(41, 'a'), "Sunny",
                                        "sunny_days", "sunny days",  "sunny.days",         "süd",
                                        "tenant:x",   "sunny/days"};
  for (const auto& id : bad) {
    Harness h;
    const auto before = h.head();
    auto r = h.handlers->create_tenant(h.platform(), {id, "Name"});
    EXPECT_EQ(code_of(r), "invalid_input") << "id '" << id << "'";
    EXPECT_EQ(field_of(r), "id") << id;
    EXPECT_EQ(h.head(), before) << id;
  }
}

TEST(CreateTenant, RefusesAMissingName) {
  Harness h;
  auto r = h.handlers->create_tenant(h.platform(), {"sunny-days", ""});
  EXPECT_EQ(code_of(r), "invalid_input");
  EXPECT_EQ(field_of(r), "name");
  EXPECT_EQ(h.head(), 0u);
}

TEST(CreateTenant, RefusesAnIdThatIsTaken) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = h.handlers->create_tenant(h.platform(), {h.tenant_id, "Another Daycare"});

  EXPECT_EQ(code_of(r), "tenant_exists");
  EXPECT_EQ(field_of(r), "id");
  EXPECT_EQ(h.head(), before);
}

// ---- ConfigureTenant ----------------------------------------------------------

Result<commands::Accepted> configure(Harness& h, const std::string& patch_json) {
  auto patch = nlohmann::json::parse(patch_json);
  return h.handlers->configure_tenant(h.admin(), {&patch});
}

TEST(ConfigureTenant, RecordsTheWholeNewSettingsAndTheNamesThatChanged) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = configure(h, R"({"reset_link_ttl_seconds": 3600, "lockout": {"max_failures": 3},
                            "sms_enabled": true, "portal_url": "https://portal.example.org"})");

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"TenantConfigured"});
  auto configured = h.decoded_of<domain::TenantConfigured>(before);
  ASSERT_EQ(configured.size(), 1u);
  EXPECT_THAT(configured[0].changed, UnorderedElementsAre("reset_link_ttl_seconds", "lockout.max_failures",
                                                          "sms_enabled", "portal_url"));
  domain::TenantSettings expected;
  expected.reset_link_ttl_seconds = 3600;
  expected.lockout.max_failures = 3;
  expected.sms_enabled = true;
  expected.portal_url = "https://portal.example.org";
  EXPECT_EQ(configured[0].settings, expected);
  EXPECT_EQ(h.tenant_state().settings, expected);
}

TEST(ConfigureTenant, AChangeOfOneNestedFieldKeepsTheOthers) {
  Harness h;
  h.given_tenant(R"({"password_policy": {"min_length": 12, "require_symbol": true}})");
  const auto before = h.head();

  ASSERT_TRUE(configure(h, R"({"password_policy": {"require_digit": false}})").ok());

  auto configured = h.decoded_of<domain::TenantConfigured>(before);
  ASSERT_EQ(configured.size(), 1u);
  EXPECT_EQ(configured[0].changed, Types{"password_policy.require_digit"});
  EXPECT_EQ(configured[0].settings.password_policy,
            (domain::PasswordPolicy{12, true, true, false, true}));
}

TEST(ConfigureTenant, ThatChangesNothingAppendsNothing) {
  Harness h;
  const auto before = h.given_tenant();
  for (const std::string patch : {R"({})", R"({"reset_link_ttl_seconds": 1800})",
                                  R"({"sms_enabled": false, "lockout": {"max_failures": 10}})",
                                  R"({"portal_url": "http://localhost:8080/portal"})"}) {
    auto r = configure(h, patch);
    ASSERT_TRUE(r.ok()) << patch << ": " << r.error().code;
    EXPECT_EQ(r->position, before) << patch;
    EXPECT_EQ(h.head(), before) << patch;
  }
}

struct SettingCase {
  std::string patch;
  std::string field;
};

class ConfigureTenantRefuses : public ::testing::TestWithParam<SettingCase> {};

TEST_P(ConfigureTenantRefuses, WithInvalidSettingNamingTheFieldAndChangesNothing) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = configure(h, GetParam().patch);

  ASSERT_EQ(code_of(r), "invalid_setting") << GetParam().patch;
  EXPECT_EQ(r.error().field, GetParam().field) << GetParam().patch;
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.tenant_state().settings, domain::TenantSettings{});
}

INSTANTIATE_TEST_SUITE_P(
    OutOfRange, ConfigureTenantRefuses,
    ::testing::Values(
        SettingCase{R"({"reset_link_ttl_seconds": 59})", "reset_link_ttl_seconds"},
        SettingCase{R"({"reset_link_ttl_seconds": 604801})", "reset_link_ttl_seconds"},
        SettingCase{R"({"reset_link_ttl_seconds": -1})", "reset_link_ttl_seconds"},
        SettingCase{R"({"temporary_password_ttl_seconds": 299})", "temporary_password_ttl_seconds"},
        SettingCase{R"({"temporary_password_ttl_seconds": 2592001})", "temporary_password_ttl_seconds"},
        SettingCase{R"({"session_ttl_seconds": 299})", "session_ttl_seconds"},
        SettingCase{R"({"session_ttl_seconds": 2592001})", "session_ttl_seconds"},
        SettingCase{R"({"password_policy": {"min_length": 7}})", "password_policy.min_length"},
        SettingCase{R"({"password_policy": {"min_length": 65}})", "password_policy.min_length"},
        SettingCase{R"({"lockout": {"max_failures": 0}})", "lockout.max_failures"},
        SettingCase{R"({"lockout": {"max_failures": 101}})", "lockout.max_failures"},
        SettingCase{R"({"lockout": {"lock_seconds": 0}})", "lockout.lock_seconds"},
        SettingCase{R"({"lockout": {"lock_seconds": 86401}})", "lockout.lock_seconds"},
        SettingCase{R"({"max_reset_requests_per_hour": 0})", "max_reset_requests_per_hour"},
        SettingCase{R"({"max_reset_requests_per_hour": 101})", "max_reset_requests_per_hour"},
        SettingCase{R"({"portal_url": "ftp://portal.example.org"})", "portal_url"},
        SettingCase{R"({"portal_url": "portal.example.org"})", "portal_url"},
        SettingCase{R"({"portal_url": "http://"})", "portal_url"},
        SettingCase{R"({"portal_url": "https:///portal"})", "portal_url"},
        SettingCase{R"({"portal_url": "http://exa mple.org"})", "portal_url"},
        SettingCase{R"({"portal_url": ""})", "portal_url"},
        // A valid setting beside an invalid one is not applied either.
        SettingCase{R"({"reset_link_ttl_seconds": 3600, "session_ttl_seconds": 1})", "session_ttl_seconds"}));

INSTANTIATE_TEST_SUITE_P(
    UnknownSetting, ConfigureTenantRefuses,
    ::testing::Values(SettingCase{R"({"colour": "blue"})", "colour"},
                      SettingCase{R"({"lockout": {"max_tries": 3}})", "lockout.max_tries"},
                      SettingCase{R"({"password_policy": {"max_length": 64}})", "password_policy.max_length"},
                      SettingCase{R"({"sms_balance": 100})", "sms_balance"}));

INSTANTIATE_TEST_SUITE_P(
    WrongType, ConfigureTenantRefuses,
    ::testing::Values(SettingCase{R"({"sms_enabled": "yes"})", "sms_enabled"},
                      SettingCase{R"({"sms_enabled": 1})", "sms_enabled"},
                      SettingCase{R"({"reset_link_ttl_seconds": "3600"})", "reset_link_ttl_seconds"},
                      SettingCase{R"({"reset_link_ttl_seconds": 3600.5})", "reset_link_ttl_seconds"},
                      SettingCase{R"({"reset_link_ttl_seconds": null})", "reset_link_ttl_seconds"},
                      SettingCase{R"({"portal_url": 8080})", "portal_url"},
                      SettingCase{R"({"lockout": 5})", "lockout"},
                      SettingCase{R"({"password_policy": [9]})", "password_policy"},
                      SettingCase{R"({"password_policy": {"require_upper": 1}})", "password_policy.require_upper"},
                      SettingCase{R"([{"sms_enabled": true}])", ""},
                      SettingCase{R"("sms_enabled")", ""}));

// With SMS on, a reset text is portal_url + "/reset?token=" + 66 characters
// and must stay under 160 characters: the portal URL is at most 58.
INSTANTIATE_TEST_SUITE_P(
    SmsWithALongPortalUrl, ConfigureTenantRefuses,
    ::testing::Values(
        SettingCase{R"({"sms_enabled": true, "portal_url": "https://portal.example.org/a-very-long-path/for/the/parents/portal/x"})",
                    "portal_url"},
        SettingCase{std::string(R"({"sms_enabled": true, "portal_url": "https://)") + std::string(51, 'p') + R"("})",
                    "portal_url"}));

TEST(ConfigureTenant, AcceptsEveryRangeBound) {
  const std::vector<std::string> patches = {
      R"({"reset_link_ttl_seconds": 60})",         R"({"reset_link_ttl_seconds": 604800})",
      R"({"temporary_password_ttl_seconds": 300})", R"({"temporary_password_ttl_seconds": 2592000})",
      R"({"session_ttl_seconds": 300})",            R"({"session_ttl_seconds": 2592000})",
      R"({"password_policy": {"min_length": 8}})",  R"({"password_policy": {"min_length": 64}})",
      R"({"lockout": {"max_failures": 1}})",        R"({"lockout": {"max_failures": 100}})",
      R"({"lockout": {"lock_seconds": 1}})",        R"({"lockout": {"lock_seconds": 86400}})",
      R"({"max_reset_requests_per_hour": 1})",      R"({"max_reset_requests_per_hour": 100})",
      R"({"portal_url": "https://portal.example.org/parents"})",
  };
  for (const auto& patch : patches) {
    Harness h;
    const auto before = h.given_tenant();
    auto r = configure(h, patch);
    EXPECT_TRUE(r.ok()) << patch << ": " << code_of(r);
    EXPECT_EQ(h.types_since(before), Types{"TenantConfigured"}) << patch;
  }
}

TEST(ConfigureTenant, SmsAcceptsAPortalUrlOfExactly58Characters) {
  Harness h;
  const auto before = h.given_tenant();
  const std::string url = "https://" + std::string(50, 'p');
  ASSERT_EQ(url.size(), domain::kMaxPortalUrlForSms);

  auto r = configure(h, R"({"sms_enabled": true, "portal_url": ")" + url + R"("})");

  EXPECT_TRUE(r.ok()) << code_of(r);
  EXPECT_EQ(h.types_since(before), Types{"TenantConfigured"});
}

TEST(ConfigureTenant, RefusesToEnableSmsWhileTheStoredPortalUrlIsTooLong) {
  Harness h;
  h.given_tenant(R"({"portal_url": "https://portal.example.org/a-very-long-path/for/parents/portal"})");
  const auto before = h.head();

  auto r = configure(h, R"({"sms_enabled": true})");

  EXPECT_EQ(code_of(r), "invalid_setting");
  EXPECT_EQ(field_of(r), "portal_url");
  EXPECT_EQ(h.head(), before);
}

TEST(ConfigureTenant, RefusesAMissingPatchAndAnUnknownTenant) {
  Harness h;
  auto none = h.handlers->configure_tenant(h.admin(), {nullptr});
  EXPECT_EQ(code_of(none), "invalid_setting");

  auto unknown = configure(h, R"({"sms_enabled": true})");
  EXPECT_EQ(code_of(unknown), "not_found");
  EXPECT_EQ(h.head(), 0u);
}

// ---- AddSmsCredits --------------------------------------------------------------

TEST(AddSmsCredits, RecordsTheAmountAndTheBalanceAfter) {
  Harness h;
  const auto before = h.given_tenant();

  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {5}).ok());
  auto r = h.handlers->add_sms_credits(h.admin(), {1'000'000});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), (Types{"SmsCreditsAdded", "SmsCreditsAdded"}));
  auto added = h.decoded_of<domain::SmsCreditsAdded>(before);
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0].amount, 5);
  EXPECT_EQ(added[0].balance, 5);
  EXPECT_EQ(added[1].amount, 1'000'000);
  EXPECT_EQ(added[1].balance, 1'000'005);
  EXPECT_EQ(h.tenant_state().sms_balance, 1'000'005);
}

TEST(AddSmsCredits, RefusesAnAmountOutOfRange) {
  Harness h;
  const auto before = h.given_tenant();
  for (std::int64_t amount : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{-500}, std::int64_t{1'000'001},
                              std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    auto r = h.handlers->add_sms_credits(h.admin(), {amount});
    EXPECT_EQ(code_of(r), "invalid_input") << amount;
    EXPECT_EQ(field_of(r), "amount") << amount;
  }
  EXPECT_EQ(h.head(), before);
  EXPECT_EQ(h.tenant_state().sms_balance, 0);
}

TEST(AddSmsCredits, RefusesAnUnknownTenant) {
  Harness h;
  EXPECT_EQ(code_of(h.handlers->add_sms_credits(h.admin(), {10})), "not_found");
  EXPECT_EQ(h.head(), 0u);
}

// ---- IssueApiKey / RevokeApiKey ---------------------------------------------------

TEST(IssueApiKey, TheKeyAuthenticatesWithItsRoleAndOnlyItsHashIsStored) {
  Harness h;
  const auto before = h.given_tenant();

  auto r = h.handlers->issue_api_key(h.admin(), {"Front desk tablet", "staff"});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"ApiKeyIssued"});
  EXPECT_EQ(r->name, "Front desk tablet");
  EXPECT_EQ(r->role, "staff");
  ASSERT_FALSE(r->key.empty());
  EXPECT_EQ(r->key.rfind(r->key_id + ".", 0), 0u) << "the key is located by its id";

  auto who = h.handlers->authenticate_api_key(h.tenant_id, r->key);
  ASSERT_TRUE(who.ok()) << who.error().code;
  EXPECT_EQ(who->key_id, r->key_id);
  EXPECT_EQ(who->name, "Front desk tablet");
  EXPECT_EQ(who->role, "staff");

  auto issued = h.decoded_of<domain::ApiKeyIssued>(before);
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].key_id, r->key_id);
  EXPECT_EQ(issued[0].key_hash, h.tokens.hash(r->key));
  const std::string secret = r->key.substr(r->key.find('.') + 1);
  for (const auto& e : h.events_since(before)) {
    EXPECT_EQ(e.data.payload.find(secret), std::string::npos) << e.data.payload;
  }
}

TEST(IssueApiKey, EveryRoleCanBeIssued) {
  Harness h;
  h.given_tenant();
  for (const std::string role : {"admin", "staff", "registrar", "auditor"}) {
    auto r = h.handlers->issue_api_key(h.admin(), {"key for " + role, role});
    ASSERT_TRUE(r.ok()) << role << ": " << r.error().code;
    auto who = h.handlers->authenticate_api_key(h.tenant_id, r->key);
    ASSERT_TRUE(who.ok()) << role;
    EXPECT_EQ(who->role, role);
  }
}

TEST(IssueApiKey, RefusesABadRoleOrAMissingName) {
  Harness h;
  const auto before = h.given_tenant();
  for (const std::string role : {"", "Admin", "STAFF", "root", "platform", "guardian", "staff "}) {
    auto r = h.handlers->issue_api_key(h.admin(), {"Some key", role});
    EXPECT_EQ(code_of(r), "invalid_input") << "'" << role << "'";
    EXPECT_EQ(field_of(r), "role") << role;
  }
  auto nameless = h.handlers->issue_api_key(h.admin(), {"", "staff"});
  EXPECT_EQ(code_of(nameless), "invalid_input");
  EXPECT_EQ(field_of(nameless), "name");
  EXPECT_EQ(h.head(), before);
}

TEST(AuthenticateApiKey, RefusesATamperedKeyAKeyOfAnotherTenantAndGarbage) {
  Harness h;
  h.given_tenant();
  auto key = h.handlers->issue_api_key(h.admin(), {"Registrar", "registrar"});
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(h.handlers->create_tenant(h.platform(), {"other-gym", "Other Gym"}).ok());

  std::string tampered = key->key;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key(h.tenant_id, tampered)), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key("other-gym", key->key)), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key("no-such-tenant", key->key)), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key("Bad Tenant", key->key)), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key(h.tenant_id, "not-a-key")), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key(h.tenant_id, key->key_id + ".")), "invalid_api_key");
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key(h.tenant_id, "")), "invalid_api_key");
}

TEST(RevokeApiKey, TheRevokedKeyNoLongerAuthenticatesAndOthersStillDo) {
  Harness h;
  h.given_tenant();
  auto revoked = h.handlers->issue_api_key(h.admin(), {"Old tablet", "staff"});
  auto kept = h.handlers->issue_api_key(h.admin(), {"New tablet", "staff"});
  ASSERT_TRUE(revoked.ok() && kept.ok());
  const auto before = h.head();

  auto r = h.handlers->revoke_api_key(h.admin(), {revoked->key_id});

  ASSERT_TRUE(r.ok()) << r.error().code;
  EXPECT_EQ(h.types_since(before), Types{"ApiKeyRevoked"});
  auto ev = h.decoded_of<domain::ApiKeyRevoked>(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].key_id, revoked->key_id);
  EXPECT_EQ(code_of(h.handlers->authenticate_api_key(h.tenant_id, revoked->key)), "invalid_api_key");
  EXPECT_TRUE(h.handlers->authenticate_api_key(h.tenant_id, kept->key).ok());
}

TEST(RevokeApiKey, RevokingTwiceAppendsNothingTheSecondTime) {
  Harness h;
  h.given_tenant();
  auto key = h.handlers->issue_api_key(h.admin(), {"Tablet", "staff"});
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(h.handlers->revoke_api_key(h.admin(), {key->key_id}).ok());
  const auto before = h.head();

  auto again = h.handlers->revoke_api_key(h.admin(), {key->key_id});

  ASSERT_TRUE(again.ok()) << again.error().code;
  EXPECT_EQ(h.head(), before);
}

TEST(RevokeApiKey, RefusesAnUnknownKeyWithNotFound) {
  Harness h;
  const auto before = h.given_tenant();
  EXPECT_EQ(code_of(h.handlers->revoke_api_key(h.admin(), {"no-such-key"})), "not_found");
  EXPECT_EQ(code_of(h.handlers->revoke_api_key(h.admin(), {""})), "not_found");
  EXPECT_EQ(h.head(), before);
}

TEST(RevokeApiKey, AKeyOfAnotherTenantIsNotFound) {
  Harness h;
  h.given_tenant();
  auto key = h.handlers->issue_api_key(h.admin(), {"Tablet", "staff"});
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(h.handlers->create_tenant(h.platform(), {"other-gym", "Other Gym"}).ok());
  const auto before = h.head();

  auto other = h.admin();
  other.tenant = "other-gym";
  EXPECT_EQ(code_of(h.handlers->revoke_api_key(other, {key->key_id})), "not_found");
  EXPECT_EQ(h.head(), before);
  EXPECT_TRUE(h.handlers->authenticate_api_key(h.tenant_id, key->key).ok());
}

// ---- version_conflict -------------------------------------------------------------

// A store on which every append clashes, as if other writers always won.
class ClashingStore final : public eventstore::EventStore {
 public:
  explicit ClashingStore(eventstore::EventStore& inner) : inner_(inner) {}
  int appends = 0;

  Result<eventstore::AppendResult> append(eventstore::AppendRequest) override {
    ++appends;
    return make_error(eventstore::kWrongExpectedVersion, "another writer was first");
  }
  void append_async(eventstore::AppendRequest request, eventstore::AppendCallback done) override {
    done(append(std::move(request)));
  }
  Result<eventstore::AppendResult> append_written(eventstore::AppendRequest request) override {
    return append(std::move(request));
  }
  void when_durable(std::uint64_t position, eventstore::DurableCallback then) override {
    inner_.when_durable(position, std::move(then));
  }
  Result<std::vector<eventstore::RecordedEvent>> read_all(std::uint64_t from, std::size_t max) override {
    return inner_.read_all(from, max);
  }
  Result<void> for_each_event(std::uint64_t from, std::uint64_t to, const eventstore::EventVisitor& v) override {
    return inner_.for_each_event(from, to, v);
  }
  Result<std::vector<eventstore::RecordedEvent>> read_stream(std::string_view stream, std::uint64_t from,
                                                             std::size_t max) override {
    return inner_.read_stream(stream, from, max);
  }
  Result<std::optional<eventstore::RecordedEvent>> read_last(std::string_view stream) override {
    return inner_.read_last(stream);
  }
  std::uint64_t head() const override { return inner_.head(); }
  std::uint64_t wait_for(std::uint64_t after, std::chrono::milliseconds timeout) override {
    return inner_.wait_for(after, timeout);
  }
  Result<eventstore::VerifyReport> verify() override { return inner_.verify(); }
  Result<std::vector<eventstore::OutboxEntry>> read_outbox(std::string_view after, std::size_t max) override {
    return inner_.read_outbox(after, max);
  }
  Result<void> delete_outbox(const std::vector<std::string>& keys) override { return inner_.delete_outbox(keys); }
  Result<void> refresh() override { return inner_.refresh(); }

 private:
  eventstore::EventStore& inner_;
};

TEST(VersionConflict, AHandlerThatAlwaysClashesGivesUpWithVersionConflict) {
  Harness h;
  const auto before = h.given_tenant();
  ClashingStore clashing(*h.store);
  commands::CommandHandlers handlers(clashing, commands::Ports{h.clock, h.random, h.hasher, h.tokens});

  auto r = handlers.add_sms_credits(h.admin(), {10});

  EXPECT_EQ(code_of(r), "version_conflict");
  EXPECT_GT(clashing.appends, 1) << "a clash is retried on fresh state before giving up";
  EXPECT_EQ(h.head(), before);
}

}  // namespace
}  // namespace latchkey::testing
