// Validation of the identifiers and contact data of SPEC §3. Each returns
// nothing when the value is fine and a 400-class Error naming `field` otherwise.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "latchkey/result.hpp"

namespace latchkey::domain {

inline constexpr std::size_t kMaxNameBytes = 100;
inline constexpr std::size_t kMaxEmailBytes = 254;
inline constexpr std::size_t kMaxLoginIdBytes = 128;
inline constexpr std::size_t kMinLoginIdBytes = 3;
inline constexpr std::size_t kMaxPasswordBytes = 256;
inline constexpr std::size_t kMaxReasonBytes = 500;
inline constexpr std::size_t kMaxChildIdBytes = 64;

std::optional<Error> check_tenant_id(std::string_view id, std::string_view field = "id");
std::optional<Error> check_name(std::string_view name, std::string_view field, bool required = true);
// Empty is allowed (no email on file) unless required.
std::optional<Error> check_email(std::string_view email, std::string_view field = "email",
                                 bool required = false);
// E.164: '+' then 8 to 15 digits, the first not 0. Empty is allowed.
std::optional<Error> check_phone(std::string_view phone, std::string_view field = "phone");
// Login IDs: 3..128 bytes of letters, digits and . _ @ + - (an email fits).
std::optional<Error> check_login_id(std::string_view login_id, std::string_view field = "login_id");
// Child (student / patient) ID numbers: 1..64 bytes of letters, digits, '-' and '_'.
std::optional<Error> check_child_id(std::string_view child_id, std::string_view field = "child_id");
// Ids we generate (Random::id) and accept back in paths and bodies:
// 1..64 characters of letters, digits, '-' and '_'.
std::optional<Error> check_id(std::string_view id, std::string_view field);

// The key under which a login ID (or email) is unique: ASCII lower case.
inline std::string login_key(std::string_view login_id);

// Masks an address for display in the audit log: "a***@example.com", "+1***67".
std::string mask_email(std::string_view email);
std::string mask_phone(std::string_view phone);

}  // namespace latchkey::domain

#include "latchkey/domain/encoding.hpp"

inline std::string latchkey::domain::login_key(std::string_view login_id) {
  return ascii_lower(trim(login_id));
}
