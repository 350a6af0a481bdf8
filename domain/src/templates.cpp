#include "latchkey/domain/templates.hpp"

#include <algorithm>
#include <set>

#include "latchkey/domain/json_fields.hpp"

namespace latchkey::domain {

LATCHKEY_JSON_STRICT(MessageTemplate, subject, body)

namespace {

struct Kind {
  std::string key;
  MessageTemplate fallback;
  std::set<std::string, std::less<>> placeholders;
  std::string required;  // the placeholder the body must hold, if any
};

const std::set<std::string, std::less<>> kCommon = {"tenant_name", "first_name", "guardian_name",
                                                    "portal_url"};
// Placeholders holding a secret: bodies only.
const std::set<std::string, std::less<>> kSecrets = {"link", "temporary_password"};

std::set<std::string, std::less<>> with_common(std::initializer_list<std::string> extra) {
  auto s = kCommon;
  s.insert(extra.begin(), extra.end());
  return s;
}

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all = {
      {"reset_link.email",
       {"Reset your {tenant_name} portal password",
        "Hi {first_name},\n\n"
        "Forgot your password for the {tenant_name} parent portal?\n\n"
        "Your User ID is: {login_id}\n\n"
        "Reset your password here:\n{link}\n\n"
        "This link is valid for {expires_in} and works once.\n"
        "If you did not ask for this, you can ignore this message.\n"},
       with_common({"login_id", "link", "expires_in"}),
       "link"},
      // An SMS must fit in 159 characters; the renderer falls back to shorter
      // wordings when an override (or a long User ID) would not.
      {"reset_link.sms",
       {"", "Reset your password: {link} User ID: {login_id}"},
       with_common({"login_id", "link", "expires_in"}),
       "link"},
      {"temporary_password.email",
       {"Your temporary {tenant_name} portal password",
        "Hi {first_name},\n\n"
        "A temporary password was issued for your {tenant_name} parent portal account.\n\n"
        "Your User ID is: {login_id}\n"
        "Temporary password: {temporary_password}\n\n"
        "Log in here:\n{login_url}\n\n"
        "It is valid for {expires_in} and works once: after logging in you will choose a new "
        "password.\n"},
       with_common({"login_id", "temporary_password", "login_url", "expires_in"}),
       "temporary_password"},
      {"password_changed.email",
       {"Your {tenant_name} portal password was changed",
        "Hi {first_name},\n\n"
        "The password of your {tenant_name} parent portal account was just changed.\n"
        "If this was not you, contact {tenant_name} right away.\n"},
       with_common({}),
       ""},
      {"login_id_changed.email",
       {"Your {tenant_name} portal User ID was changed",
        "Hi {first_name},\n\n"
        "Your User ID for the {tenant_name} parent portal is now: {new_login_id}\n"
        "If this was not you, contact {tenant_name} right away.\n"},
       with_common({"new_login_id"}),
       ""},
      {"email_changed.email",
       {"The email address on your {tenant_name} portal account was changed",
        "Hi {first_name},\n\n"
        "The email address on your {tenant_name} parent portal account was changed from "
        "{old_email} to {new_email}.\n"
        "If this was not you, contact {tenant_name} right away.\n"},
       with_common({"old_email", "new_email"}),
       ""},
  };
  return all;
}

const Kind* find_kind(std::string_view key) {
  for (const auto& k : kinds()) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

Error invalid(const std::string& field, const std::string& message) {
  return make_error("invalid_setting", message, field);
}

// The placeholder names in `text`, or the error of the first malformed one.
Result<std::vector<std::string>> placeholders_of(std::string_view text, const std::string& field) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') return invalid(field, field + " has a '}' that closes no placeholder");
    if (text[i] != '{') continue;
    const auto end = text.find('}', i + 1);
    if (end == std::string_view::npos) return invalid(field, field + " has a '{' that is never closed");
    std::string name(text.substr(i + 1, end - i - 1));
    const bool well_formed = !name.empty() && name.size() <= 32 &&
                             std::all_of(name.begin(), name.end(), [](char c) {
                               return (c >= 'a' && c <= 'z') || c == '_';
                             });
    if (!well_formed) return invalid(field, field + " has a malformed placeholder");
    names.push_back(std::move(name));
    i = end;
  }
  return names;
}

bool has_control_characters(std::string_view text, bool allow_newlines) {
  return std::any_of(text.begin(), text.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n' || c == '\t') return !allow_newlines;
    return c < 0x20 || c == 0x7f;
  });
}

}  // namespace

const std::vector<std::string>& template_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& kind : kinds()) k.push_back(kind.key);
    return k;
  }();
  return keys;
}

const MessageTemplate& default_template(std::string_view key) {
  const Kind* kind = find_kind(key);
  return kind != nullptr ? kind->fallback : kinds().front().fallback;
}

Result<void> validate_template(std::string_view key, const MessageTemplate& t) {
  const std::string base = "templates." + std::string(key);
  const Kind* kind = find_kind(key);
  if (kind == nullptr) return invalid(base, "unknown template " + std::string(key));
  const bool sms = key.ends_with(".sms");
  const std::string subject_field = base + ".subject";
  const std::string body_field = base + ".body";
  if (sms && !t.subject.empty()) return invalid(subject_field, "an SMS has no subject");
  if (!sms && t.subject.empty()) return invalid(subject_field, subject_field + " must not be empty");
  if (t.subject.size() > kMaxTemplateSubject) {
    return invalid(subject_field, subject_field + " must be at most " +
                                      std::to_string(kMaxTemplateSubject) + " bytes");
  }
  if (t.body.empty()) return invalid(body_field, body_field + " must not be empty");
  if (t.body.size() > kMaxTemplateBody) {
    return invalid(body_field, body_field + " must be at most " + std::to_string(kMaxTemplateBody) + " bytes");
  }
  if (has_control_characters(t.subject, false)) {
    return invalid(subject_field, subject_field + " must be one line without control characters");
  }
  if (has_control_characters(t.body, !sms)) {
    return invalid(body_field, body_field + " must not hold control characters");
  }
  auto in_subject = placeholders_of(t.subject, subject_field);
  if (!in_subject) return in_subject.error();
  for (const auto& name : *in_subject) {
    if (!kind->placeholders.contains(name)) {
      return invalid(subject_field, subject_field + " uses the unknown placeholder {" + name + "}");
    }
    if (kSecrets.contains(name)) {
      return invalid(subject_field, "{" + name + "} may appear only in the body, never in a subject");
    }
  }
  auto in_body = placeholders_of(t.body, body_field);
  if (!in_body) return in_body.error();
  for (const auto& name : *in_body) {
    if (!kind->placeholders.contains(name)) {
      return invalid(body_field, body_field + " uses the unknown placeholder {" + name + "}");
    }
  }
  if (!kind->required.empty() &&
      std::find(in_body->begin(), in_body->end(), kind->required) == in_body->end()) {
    return invalid(body_field, body_field + " must hold {" + kind->required + "}");
  }
  return {};
}

std::string render_template(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size() + 128);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      const auto end = text.find('}', i + 1);
      if (end != std::string_view::npos) {
        auto it = values.find(std::string(text.substr(i + 1, end - i - 1)));
        if (it != values.end()) out += it->second;
        i = end;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace latchkey::domain
