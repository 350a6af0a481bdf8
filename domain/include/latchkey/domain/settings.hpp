// Tenant settings (SPEC §3) with their defaults and ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "latchkey/domain/templates.hpp"
#include "latchkey/result.hpp"

namespace latchkey::domain {

inline constexpr std::size_t kMaxPortalUrlForSms = 58;

struct PasswordPolicy {
  std::int64_t min_length = 9;  // 8 … 64; the maximum is always 256 bytes
  bool require_lower = true;
  bool require_upper = true;
  bool require_digit = true;
  bool require_symbol = false;

  friend bool operator==(const PasswordPolicy&, const PasswordPolicy&) = default;
};

struct LockoutPolicy {
  std::int64_t max_failures = 10;   // 1 … 100
  std::int64_t lock_seconds = 900;  // 1 … 86400

  friend bool operator==(const LockoutPolicy&, const LockoutPolicy&) = default;
};

struct TenantSettings {
  std::int64_t reset_link_ttl_seconds = 1800;             // 60 … 604800
  std::int64_t temporary_password_ttl_seconds = 259200;   // 300 … 2592000
  std::int64_t session_ttl_seconds = 43200;               // 300 … 2592000
  bool sms_enabled = false;
  PasswordPolicy password_policy;
  bool reject_common_passwords = true;
  bool require_security_answer = false;
  LockoutPolicy lockout;
  std::int64_t max_reset_requests_per_hour = 5;           // 1 … 100
  std::string portal_url = "http://localhost:8080/portal";  // absolute http(s) URL
  MessageTemplates templates;  // overrides of the built-in wording, by "<kind>.<channel>"

  friend bool operator==(const TenantSettings&, const TenantSettings&) = default;
};

void to_json(nlohmann::json& j, const PasswordPolicy& p);
void from_json(const nlohmann::json& j, PasswordPolicy& p);
void to_json(nlohmann::json& j, const LockoutPolicy& p);
void from_json(const nlohmann::json& j, LockoutPolicy& p);
void to_json(nlohmann::json& j, const TenantSettings& s);
void from_json(const nlohmann::json& j, TenantSettings& s);

// Applies a partial update (a JSON object with some of the settings; nested
// policies may be partial too) to `settings`. Returns the names of the
// settings that changed, or an `invalid_setting` error naming the first bad
// field ("lockout.max_failures"); on error `settings` is unchanged.
Result<std::vector<std::string>> apply_settings_patch(TenantSettings& settings,
                                                      const nlohmann::json& patch);

// Checks every range; the error names the field.
Result<void> validate_settings(const TenantSettings& settings);

}  // namespace latchkey::domain
