// Tenant settings: defaults, partial updates, ranges (SPEC §3).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "latchkey/domain/settings.hpp"

namespace latchkey::domain {
namespace {

TEST(Settings, DefaultsAreTheSpecsAndValid) {
  TenantSettings s;
  EXPECT_EQ(s.reset_link_ttl_seconds, 1800);
  EXPECT_EQ(s.temporary_password_ttl_seconds, 259200);
  EXPECT_EQ(s.session_ttl_seconds, 43200);
  EXPECT_FALSE(s.sms_enabled);
  EXPECT_EQ(s.password_policy.min_length, 9);
  EXPECT_TRUE(s.password_policy.require_lower && s.password_policy.require_upper &&
              s.password_policy.require_digit);
  EXPECT_FALSE(s.password_policy.require_symbol);
  EXPECT_TRUE(s.reject_common_passwords);
  EXPECT_FALSE(s.require_security_answer);
  EXPECT_EQ(s.lockout.max_failures, 10);
  EXPECT_EQ(s.lockout.lock_seconds, 900);
  EXPECT_EQ(s.max_reset_requests_per_hour, 5);
  EXPECT_EQ(s.portal_url, "http://localhost:8080/portal");
  EXPECT_TRUE(validate_settings(s).ok());
}

TEST(Settings, PatchChangesOnlyWhatItNames) {
  TenantSettings s;
  auto changed = apply_settings_patch(
      s, nlohmann::json::parse(R"({"reset_link_ttl_seconds":86400,"password_policy":{"min_length":12},
                                   "lockout":{"lock_seconds":60},"sms_enabled":true,
                                   "portal_url":"https://portal.example.com"})"));
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(*changed, (std::vector<std::string>{"lockout.lock_seconds", "password_policy.min_length",
                                                "portal_url", "reset_link_ttl_seconds", "sms_enabled"}));
  EXPECT_EQ(s.reset_link_ttl_seconds, 86400);
  EXPECT_EQ(s.password_policy.min_length, 12);
  EXPECT_TRUE(s.password_policy.require_upper);
  EXPECT_EQ(s.lockout.lock_seconds, 60);
  EXPECT_EQ(s.lockout.max_failures, 10);
}

TEST(Settings, PatchWithTheSameValuesChangesNothing) {
  TenantSettings s;
  auto changed = apply_settings_patch(s, nlohmann::json::parse(R"({"session_ttl_seconds":43200})"));
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(changed->empty());
}

TEST(Settings, BadPatchesAreRefusedNamingTheFieldAndChangeNothing) {
  struct Case {
    const char* patch;
    const char* field;
  };
  const std::vector<Case> cases = {
      {R"({"reset_link_ttl_seconds":59})", "reset_link_ttl_seconds"},
      {R"({"reset_link_ttl_seconds":604801})", "reset_link_ttl_seconds"},
      {R"({"temporary_password_ttl_seconds":299})", "temporary_password_ttl_seconds"},
      {R"({"temporary_password_ttl_seconds":2592001})", "temporary_password_ttl_seconds"},
      {R"({"session_ttl_seconds":299})", "session_ttl_seconds"},
      {R"({"session_ttl_seconds":2592001})", "session_ttl_seconds"},
      {R"({"password_policy":{"min_length":7}})", "password_policy.min_length"},
      {R"({"password_policy":{"min_length":65}})", "password_policy.min_length"},
      {R"({"password_policy":{"require_upper":"yes"}})", "password_policy.require_upper"},
      {R"({"password_policy":{"max_length":300}})", "password_policy.max_length"},
      {R"({"password_policy":5})", "password_policy"},
      {R"({"lockout":{"max_failures":0}})", "lockout.max_failures"},
      {R"({"lockout":{"lock_seconds":0}})", "lockout.lock_seconds"},
      {R"({"max_reset_requests_per_hour":0})", "max_reset_requests_per_hour"},
      {R"({"sms_enabled":1})", "sms_enabled"},
      {R"({"reset_link_ttl_seconds":"1800"})", "reset_link_ttl_seconds"},
      {R"({"reset_link_ttl_seconds":1800.5})", "reset_link_ttl_seconds"},
      {R"({"portal_url":"ftp://example.com"})", "portal_url"},
      {R"({"portal_url":"/relative"})", "portal_url"},
      {R"({"portal_url":"http://"})", "portal_url"},
      {R"({"portal_url":"http://exa mple.com"})", "portal_url"},
      {R"({"sms_enabled":true,"portal_url":"https://a-very-long-portal-host-name.example.com/parents/portal"})",
       "portal_url"},
      {R"({"colour":"blue"})", "colour"},
  };
  for (const auto& c : cases) {
    TenantSettings s;
    auto r = apply_settings_patch(s, nlohmann::json::parse(c.patch));
    ASSERT_FALSE(r.ok()) << c.patch;
    EXPECT_EQ(r.error().code, "invalid_setting") << c.patch;
    EXPECT_EQ(r.error().field, c.field) << c.patch;
    EXPECT_EQ(s, TenantSettings{}) << c.patch;
  }
}

TEST(Settings, NotAnObjectIsRefused) {
  TenantSettings s;
  EXPECT_FALSE(apply_settings_patch(s, nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace latchkey::domain
