// Message templates: the wording of what guardians receive, with built-in
// defaults that a tenant may override per kind and channel (issue 6).
//
// A template is plain text with placeholders in braces, "{first_name}". Every
// brace opens a placeholder; a template naming a placeholder its kind does not
// know is refused when it is set, never at delivery. Secrets ({link},
// {temporary_password}) may appear only in bodies, never in subjects (mail
// servers log subjects), and a reset link or temporary-password template must
// carry its secret.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "latchkey/result.hpp"

namespace latchkey::domain {

struct MessageTemplate {
  std::string subject;  // email only; empty for SMS
  std::string body;

  friend bool operator==(const MessageTemplate&, const MessageTemplate&) = default;
};

// By "<kind>.<channel>": reset_link.email, reset_link.sms,
// temporary_password.email, password_changed.email, login_id_changed.email,
// email_changed.email.
using MessageTemplates = std::map<std::string, MessageTemplate, std::less<>>;

inline constexpr std::size_t kMaxTemplateSubject = 200;
inline constexpr std::size_t kMaxTemplateBody = 4096;

void to_json(nlohmann::json& j, const MessageTemplate& t);
void from_json(const nlohmann::json& j, MessageTemplate& t);

// The template keys a tenant may override, in a stable order.
const std::vector<std::string>& template_keys();

// The built-in template for a key (which must be one of template_keys()).
const MessageTemplate& default_template(std::string_view key);

// Checks a tenant's override: a known key, known placeholders, the secret
// where it belongs, sizes, no control characters but newlines and tabs.
// The error names the field ("templates.reset_link.email.body").
Result<void> validate_template(std::string_view key, const MessageTemplate& t);

// Replaces every {name} with values[name]; a name without a value renders as
// nothing (validation keeps that from happening).
std::string render_template(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace latchkey::domain
