#include "latchkey/domain/password_policy.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "latchkey/domain/encoding.hpp"

namespace latchkey::domain {

// Generated at build time from Debian's john-data password.lst (see
// domain/CMakeLists.txt): one lower-case password per line.
extern const char* const kCommonPasswordsText;

namespace {

const std::unordered_set<std::string_view>& common_passwords() {
  static const std::unordered_set<std::string_view> set = [] {
    std::unordered_set<std::string_view> s;
    std::string_view text(kCommonPasswordsText);
    while (!text.empty()) {
      auto nl = text.find('\n');
      auto line = text.substr(0, nl);
      if (!line.empty()) s.insert(line);
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
    return s;
  }();
  return set;
}

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

bool is_common_password(std::string_view password) {
  const auto& set = common_passwords();
  std::string lower = ascii_lower(password);
  if (set.contains(lower)) return true;
  // "Password123!" is "password" with decoration.
  std::string_view core(lower);
  while (!core.empty() && !is_lower(core.back()) && static_cast<unsigned char>(core.back()) < 0x80) {
    core.remove_suffix(1);
  }
  return core.size() >= 4 && core.size() != lower.size() && set.contains(core);
}

std::size_t common_password_count() { return common_passwords().size(); }

std::vector<std::string> unmet_password_rules(const TenantSettings& settings,
                                              std::string_view password,
                                              const PasswordContext& context) {
  std::vector<std::string> unmet;
  if (!is_clean_utf8(password)) {
    unmet.emplace_back("invalid_utf8");
    return unmet;
  }
  const auto& policy = settings.password_policy;
  if (code_points(password) < static_cast<std::size_t>(policy.min_length)) {
    unmet.emplace_back("min_length");
  }
  if (password.size() > 256) unmet.emplace_back("max_length");
  auto has = [&](auto pred) { return std::any_of(password.begin(), password.end(), pred); };
  if (policy.require_lower && !has(is_lower)) unmet.emplace_back("lower");
  if (policy.require_upper && !has(is_upper)) unmet.emplace_back("upper");
  if (policy.require_digit && !has(is_digit)) unmet.emplace_back("digit");
  if (policy.require_symbol && !has([](char c) { return !is_lower(c) && !is_upper(c) && !is_digit(c); })) {
    unmet.emplace_back("symbol");
  }
  if (settings.reject_common_passwords) {
    if (is_common_password(password)) unmet.emplace_back("common_password");
    std::string lower = ascii_lower(password);
    std::vector<std::string> personal = {ascii_lower(context.login_id), ascii_lower(context.email),
                                         ascii_lower(context.first_name),
                                         ascii_lower(context.last_name)};
    if (auto at = context.email.find('@'); at != std::string::npos) {
      personal.push_back(ascii_lower(context.email.substr(0, at)));
    }
    bool contains = std::any_of(personal.begin(), personal.end(), [&](const std::string& p) {
      return p.size() >= 3 && lower.find(p) != std::string::npos;
    });
    if (contains) unmet.emplace_back("contains_personal_info");
  }
  return unmet;
}

std::string generate_temporary_password(const PasswordPolicy& policy, Random& random) {
  static constexpr std::string_view kLower = "abcdefghijkmnopqrstuvwxyz";
  static constexpr std::string_view kUpper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  static constexpr std::string_view kDigit = "23456789";
  static constexpr std::string_view kSymbol = "!#$%*+-=?@";
  const std::size_t length = std::max<std::size_t>(14, static_cast<std::size_t>(policy.min_length));
  for (;;) {
    std::string all = std::string(kLower) + std::string(kUpper) + std::string(kDigit);
    std::string out;
    auto pick = [&](std::string_view from) { out += from[random.below(static_cast<std::uint32_t>(from.size()))]; };
    pick(kLower);
    pick(kUpper);
    pick(kDigit);
    if (policy.require_symbol) {
      pick(kSymbol);
      all += kSymbol;
    }
    while (out.size() < length) pick(all);
    for (std::size_t i = out.size() - 1; i > 0; --i) {  // Fisher–Yates
      std::swap(out[i], out[random.below(static_cast<std::uint32_t>(i + 1))]);
    }
    if (!is_common_password(out)) return out;
  }
}

}  // namespace latchkey::domain
