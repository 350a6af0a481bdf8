#include "latchkey/domain/validation.hpp"

#include <algorithm>

namespace latchkey::domain {
namespace {

Error invalid(std::string_view field, std::string message) {
  return make_error("invalid_input", std::move(message), std::string(field));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::optional<Error> check_tenant_id(std::string_view id, std::string_view field) {
  bool ok = id.size() >= 2 && id.size() <= 40 &&
            std::all_of(id.begin(), id.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
  if (!ok) return invalid(field, "a tenant id is 2 to 40 characters of a-z, 0-9 and '-'");
  return std::nullopt;
}

std::optional<Error> check_name(std::string_view name, std::string_view field, bool required) {
  if (name.empty()) {
    if (required) return invalid(field, std::string(field) + " is required");
    return std::nullopt;
  }
  if (name.size() > kMaxNameBytes) {
    return invalid(field, std::string(field) + " is longer than 100 bytes");
  }
  if (!is_clean_utf8(name) || trim(name).size() != name.size()) {
    return invalid(field, std::string(field) +
                              " must be UTF-8 text without control characters or surrounding spaces");
  }
  return std::nullopt;
}

std::optional<Error> check_email(std::string_view email, std::string_view field, bool required) {
  if (email.empty()) {
    if (required) return invalid(field, "an email address is required");
    return std::nullopt;
  }
  auto at = email.find('@');
  bool ok = email.size() <= kMaxEmailBytes && at != std::string_view::npos && at > 0 &&
            email.find('@', at + 1) == std::string_view::npos;
  if (ok) {
    auto local = email.substr(0, at);
    auto domain = email.substr(at + 1);
    ok = local.size() <= 64 && domain.size() >= 3 && domain.find('.') != std::string_view::npos &&
         domain.front() != '.' && domain.back() != '.' &&
         domain.find("..") == std::string_view::npos &&
         std::all_of(local.begin(), local.end(),
                     [](char c) { return is_alnum(c) || std::string_view(".!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos; }) &&
         std::all_of(domain.begin(), domain.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '-'; });
  }
  if (!ok) return invalid(field, "not a valid email address");
  return std::nullopt;
}

std::optional<Error> check_phone(std::string_view phone, std::string_view field) {
  if (phone.empty()) return std::nullopt;
  bool ok = phone.size() >= 9 && phone.size() <= 16 && phone[0] == '+' && phone[1] != '0' &&
            std::all_of(phone.begin() + 1, phone.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) return invalid(field, "a phone number is in E.164 form, e.g. +15551234567");
  return std::nullopt;
}

std::optional<Error> check_login_id(std::string_view login_id, std::string_view field) {
  bool ok = login_id.size() >= kMinLoginIdBytes && login_id.size() <= kMaxLoginIdBytes &&
            std::all_of(login_id.begin(), login_id.end(), [](char c) {
              return is_alnum(c) || c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
            });
  if (!ok) {
    return invalid(field, "a login ID is 3 to 128 characters of letters, digits and . _ @ + -");
  }
  return std::nullopt;
}

std::optional<Error> check_child_id(std::string_view child_id, std::string_view field) {
  bool ok = !child_id.empty() && child_id.size() <= kMaxChildIdBytes &&
            std::all_of(child_id.begin(), child_id.end(),
                        [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
  if (!ok) return invalid(field, "a child ID is 1 to 64 characters of letters, digits, '-' and '_'");
  return std::nullopt;
}

std::optional<Error> check_id(std::string_view id, std::string_view field) {
  bool ok = !id.empty() && id.size() <= 64 &&
            std::all_of(id.begin(), id.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
  if (!ok) return invalid(field, std::string(field) + " is not a valid id");
  return std::nullopt;
}

std::string mask_email(std::string_view email) {
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0) return "***";
  return std::string(email.substr(0, 1)) + "***" + std::string(email.substr(at));
}

std::string mask_phone(std::string_view phone) {
  if (phone.size() < 5) return "***";
  return std::string(phone.substr(0, 2)) + "***" + std::string(phone.substr(phone.size() - 2));
}

}  // namespace latchkey::domain
