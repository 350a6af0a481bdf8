// The password rules of a tenant (SPEC §3): length, character classes, and the
// refusal of common passwords and of the guardian's own identifiers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "latchkey/domain/ports.hpp"
#include "latchkey/domain/settings.hpp"

namespace latchkey::domain {

// What a password must not resemble: the guardian's own identifiers.
struct PasswordContext {
  std::string login_id;
  std::string email;
  std::string first_name;
  std::string last_name;
};

// The unmet rules, by stable name: "min_length", "max_length", "lower",
// "upper", "digit", "symbol", "common_password", "contains_personal_info",
// "invalid_utf8". Empty means the password is acceptable.
std::vector<std::string> unmet_password_rules(const TenantSettings& settings,
                                              std::string_view password,
                                              const PasswordContext& context);

// True when the password (case-insensitively, also with trailing digits and
// symbols stripped) is on the shipped list of common passwords.
bool is_common_password(std::string_view password);
std::size_t common_password_count();

// A random password that meets `policy` (and is never common): at least 14
// characters drawn without ambiguous look-alikes (0/O, 1/l/I).
std::string generate_temporary_password(const PasswordPolicy& policy, Random& random);

}  // namespace latchkey::domain
