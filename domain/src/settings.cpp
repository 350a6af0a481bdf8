#include "latchkey/domain/settings.hpp"

#include <algorithm>

#include "latchkey/domain/json_fields.hpp"

namespace latchkey::domain {

LATCHKEY_JSON_STRICT(PasswordPolicy, min_length, require_lower, require_upper, require_digit,
                     require_symbol)
LATCHKEY_JSON_STRICT(LockoutPolicy, max_failures, lock_seconds)

void to_json(nlohmann::json& j, const TenantSettings& s) {
  j = {{"reset_link_ttl_seconds", s.reset_link_ttl_seconds},
       {"temporary_password_ttl_seconds", s.temporary_password_ttl_seconds},
       {"session_ttl_seconds", s.session_ttl_seconds},
       {"sms_enabled", s.sms_enabled},
       {"password_policy", s.password_policy},
       {"reject_common_passwords", s.reject_common_passwords},
       {"require_security_answer", s.require_security_answer},
       {"lockout", s.lockout},
       {"max_reset_requests_per_hour", s.max_reset_requests_per_hour},
       {"portal_url", s.portal_url},
       {"templates", s.templates}};
}

// Strict like every stored type, with one allowance: "templates" came later,
// so settings recorded before it (schema 1 events) decode with no overrides.
void from_json(const nlohmann::json& j, TenantSettings& s) {
  if (!j.is_object()) {
    throw nlohmann::detail::type_error::create(302, "TenantSettings must be a JSON object", &j);
  }
  j.at("reset_link_ttl_seconds").get_to(s.reset_link_ttl_seconds);
  j.at("temporary_password_ttl_seconds").get_to(s.temporary_password_ttl_seconds);
  j.at("session_ttl_seconds").get_to(s.session_ttl_seconds);
  j.at("sms_enabled").get_to(s.sms_enabled);
  j.at("password_policy").get_to(s.password_policy);
  j.at("reject_common_passwords").get_to(s.reject_common_passwords);
  j.at("require_security_answer").get_to(s.require_security_answer);
  j.at("lockout").get_to(s.lockout);
  j.at("max_reset_requests_per_hour").get_to(s.max_reset_requests_per_hour);
  j.at("portal_url").get_to(s.portal_url);
  std::size_t known = 10;
  s.templates.clear();
  if (auto it = j.find("templates"); it != j.end()) {
    it->get_to(s.templates);
    ++known;
  }
  if (j.size() != known) {
    throw nlohmann::detail::other_error::create(501, "TenantSettings has an unknown field", &j);
  }
}

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
  for (const auto& [key, t] : s.templates) {
    if (auto r = validate_template(key, t); !r) return r;
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
    } else if (key == "templates") {
      // {"reset_link.email": {"subject": …, "body": …}} sets an override;
      // {"reset_link.email": null} goes back to the built-in wording.
      if (!value.is_object()) return invalid_setting(key, "templates must be a JSON object");
      for (const auto& [name, tvalue] : value.items()) {
        const std::string field = "templates." + name;
        const auto& keys = template_keys();
        if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
          return invalid_setting(field, "unknown template " + name);
        }
        if (tvalue.is_null()) {
          if (next.templates.erase(name) > 0) changed.push_back(field);
          continue;
        }
        if (!tvalue.is_object()) return invalid_setting(field, field + " must be a JSON object or null");
        MessageTemplate t;
        for (const auto& [part, pvalue] : tvalue.items()) {
          if (part != "subject" && part != "body") return invalid_setting(field + "." + part, "unknown field " + field + "." + part);
          if (!pvalue.is_string()) return invalid_setting(field + "." + part, field + "." + part + " must be a string");
          (part == "subject" ? t.subject : t.body) = pvalue.get<std::string>();
        }
        if (auto v = validate_template(name, t); !v) return v.error();
        auto [it, inserted] = next.templates.try_emplace(name, t);
        if (inserted || !(it->second == t)) changed.push_back(field);
        it->second = std::move(t);
      }
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
