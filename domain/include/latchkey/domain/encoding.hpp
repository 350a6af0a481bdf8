// Small pure helpers on bytes and text used across the domain.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace latchkey::domain {

std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string hex_encode(std::span<const std::uint8_t> bytes);
// Lower- or upper-case hex to bytes; nothing for odd length or a non-hex digit.
std::optional<std::string> hex_decode(std::string_view hex);

// Compares in time that depends only on the lengths, never on where the
// inputs first differ. Use it for every comparison involving a secret's hash.
bool constant_time_equal(std::string_view a, std::string_view b);

// ASCII lower-casing; bytes outside A-Z are kept as they are.
std::string ascii_lower(std::string_view s);

// Strips ASCII white space at both ends.
std::string_view trim(std::string_view s);

// True when `s` is well-formed UTF-8 without control characters (C0, DEL).
bool is_clean_utf8(std::string_view s);

// RFC 3339 in UTC with milliseconds: "2026-11-23T11:38:44.123Z".
std::string format_time(std::int64_t micros_since_epoch);
// Parses what format_time writes, and also without fraction or with "+00:00".
std::optional<std::int64_t> parse_time(std::string_view text);

// A secret with a locator, as used for reset links and session tokens:
// "<id>.<secret>". The id says where to look (a guardian); the secret is what
// is hashed and compared. Returns nothing when the text does not have that shape.
struct LocatedSecret {
  std::string id;
  std::string secret;
};
std::optional<LocatedSecret> split_located_secret(std::string_view token);

}  // namespace latchkey::domain
