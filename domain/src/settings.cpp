#include "latchkey/domain/settings.hpp"

#include "latchkey/domain/json_fields.hpp"

namespace latchkey::domain {

LATCHKEY_JSON_STRICT(PasswordPolicy, min_length, require_lower, require_upper, require_digit,
                     require_symbol)
LATCHKEY_JSON_STRICT(LockoutPolicy, max_failures, lock_seconds)
LATCHKEY_JSON_STRICT(TenantSettings, reset_link_ttl_seconds, temporary_password_ttl_seconds,
                     session_ttl_seconds, sms_enabled, password_policy, reject_common_passwords,
                     require_security_answer, lockout, max_reset_requests_per_hour, portal_url)

namespace {

Error invalid_setting(const std::string& field, const std::string& message) {
  return make_error("invalid_setting", message, field);
}

Result<void> in_range(const std::string& field, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi) {
    return invalid_setting(field, field + " must be between " + std::to_string(lo) + " and " +
                                      std::to_string(hi));
  }
  return {};
}

bool is_absolute_http_url(const std::string& url) {
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    rest = std::string_view(url).substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = std::string_view(url).substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/' || url.size() > 512) return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == '"' || c == '<' || c == '>' || c == '\\' || c == '`') {
      return false;
    }
  }
  return true;
}

// Applies one JSON value to one field, type-checked.
template <class T>
Result<bool> set_field(T& target, const nlohmann::json& value, const std::string& field) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) return invalid_setting(field, field + " must be true or false");
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (!value.is_number_integer()) return invalid_setting(field, field + " must be an integer");
  } else {
    if (!value.is_string()) return invalid_setting(field, field + " must be a string");
  }
  T v = value.get<T>();
  bool changed = !(v == target);
  target = std::move(v);
  return changed;
}

}  // namespace

Result<void> validate_settings(const TenantSettings& s) {
  for (auto r : {in_range("reset_link_ttl_seconds", s.reset_link_ttl_seconds, 60, 604800),
                 in_range("temporary_password_ttl_seconds", s.temporary_password_ttl_seconds, 300,
                          2592000),
                 in_range("session_ttl_seconds", s.session_ttl_seconds, 300, 2592000),
                 in_range("password_policy.min_length", s.password_policy.min_length, 8, 64),
                 in_range("lockout.max_failures", s.lockout.max_failures, 1, 100),
                 in_range("lockout.lock_seconds", s.lockout.lock_seconds, 1, 86400),
                 in_range("max_reset_requests_per_hour", s.max_reset_requests_per_hour, 1, 100)}) {
    if (!r) return r;
  }
  if (!is_absolute_http_url(s.portal_url)) {
    return invalid_setting("portal_url", "portal_url must be an absolute http(s) URL");
  }
  // An SMS reset link is portal_url + "/reset?token=" + 66 characters and the
  // whole SMS stays under 160 characters.
  if (s.sms_enabled && s.portal_url.size() > kMaxPortalUrlForSms) {
    return invalid_setting("portal_url", "with SMS enabled, portal_url must be at most " +
                                             std::to_string(kMaxPortalUrlForSms) +
                                             " characters so that reset texts fit in one SMS");
  }
  return {};
}

Result<std::vector<std::string>> apply_settings_patch(TenantSettings& settings,
                                                      const nlohmann::json& patch) {
  if (!patch.is_object()) return invalid_setting("", "settings must be a JSON object");
  TenantSettings next = settings;
  std::vector<std::string> changed;
  auto apply = [&](auto& target, const nlohmann::json& value, const std::string& field) -> Result<void> {
    auto r = set_field(target, value, field);
    if (!r) return r.error();
    if (*r) changed.push_back(field);
    return {};
  };
  for (const auto& [key, value] : patch.items()) {
    Result<void> r;
    if (key == "reset_link_ttl_seconds") {
      r = apply(next.reset_link_ttl_seconds, value, key);
    } else if (key == "temporary_password_ttl_seconds") {
      r = apply(next.temporary_password_ttl_seconds, value, key);
    } else if (key == "session_ttl_seconds") {
      r = apply(next.session_ttl_seconds, value, key);
    } else if (key == "sms_enabled") {
      r = apply(next.sms_enabled, value, key);
    } else if (key == "reject_common_passwords") {
      r = apply(next.reject_common_passwords, value, key);
    } else if (key == "require_security_answer") {
      r = apply(next.require_security_answer, value, key);
    } else if (key == "max_reset_requests_per_hour") {
      r = apply(next.max_reset_requests_per_hour, value, key);
    } else if (key == "portal_url") {
      r = apply(next.portal_url, value, key);
    } else if (key == "password_policy" || key == "lockout") {
      if (!value.is_object()) return invalid_setting(key, key + " must be a JSON object");
      for (const auto& [sub, subvalue] : value.items()) {
        std::string field = key + "." + sub;
        auto& pp = next.password_policy;
        auto& lo = next.lockout;
        if (key == "password_policy" && sub == "min_length") {
          r = apply(pp.min_length, subvalue, field);
        } else if (key == "password_policy" && sub == "require_lower") {
          r = apply(pp.require_lower, subvalue, field);
        } else if (key == "password_policy" && sub == "require_upper") {
          r = apply(pp.require_upper, subvalue, field);
        } else if (key == "password_policy" && sub == "require_digit") {
          r = apply(pp.require_digit, subvalue, field);
        } else if (key == "password_policy" && sub == "require_symbol") {
          r = apply(pp.require_symbol, subvalue, field);
        } else if (key == "lockout" && sub == "max_failures") {
          r = apply(lo.max_failures, subvalue, field);
        } else if (key == "lockout" && sub == "lock_seconds") {
          r = apply(lo.lock_seconds, subvalue, field);
        } else {
          return invalid_setting(field, "unknown setting " + field);
        }
        if (!r) return r.error();
      }
    } else {
      return invalid_setting(key, "unknown setting " + key);
    }
    if (!r) return r.error();
  }
  if (auto v = validate_settings(next); !v) return v.error();
  settings = std::move(next);
  return changed;
}

}  // namespace latchkey::domain
