// The password policy (SPEC §3): each rule, the common-password list, the
// guardian's own identifiers, and temporary passwords that always pass.
#include <gtest/gtest.h>

#include <set>

#include "latchkey/commands/sodium_ports.hpp"
#include "latchkey/domain/password_policy.hpp"

namespace latchkey::domain {
namespace {

const PasswordContext kAna{"ana.rivera", "ana@example.com", "Ana", "Rivera"};

TEST(PasswordPolicy, NamesEveryUnmetRule) {
  struct Case {
    std::string password;
    std::vector<std::string> unmet;
  };
  const std::vector<Case> cases = {
      {"Correct7Horse9Staple", {}},
      {"Short7a", {"min_length"}},
      {"alllowercase77", {"upper"}},
      {"ALLUPPERCASE77", {"lower"}},
      {"NoDigitsHereAtAll", {"digit"}},
      {"xqz", {"min_length", "upper", "digit"}},
      {"Password1", {"common_password"}},
      {"Password123!", {"common_password"}},
      {"Qwerty123456", {"common_password"}},
      {"Rivera2024Kids", {"contains_personal_info"}},
      {"MyAna@Example.com9", {"contains_personal_info"}},
      {std::string(257, 'a') + "A1", {"max_length"}},
      {"Bad\x01Control9Aa", {"invalid_utf8"}},
      {"Bad\xff" "Bytes9Aaaaa", {"invalid_utf8"}},
      {"Ünïcödé9Secret", {}},
  };
  TenantSettings settings;
  for (const auto& c : cases) {
    EXPECT_EQ(unmet_password_rules(settings, c.password, kAna), c.unmet) << c.password;
  }
}

TEST(PasswordPolicy, FollowsTheTenantsSettings) {
  TenantSettings s;
  s.password_policy = {12, false, false, false, true};
  s.reject_common_passwords = false;
  EXPECT_EQ(unmet_password_rules(s, "password1", kAna), (std::vector<std::string>{"min_length", "symbol"}));
  EXPECT_TRUE(unmet_password_rules(s, "password123!", kAna).empty());
  EXPECT_TRUE(unmet_password_rules(s, "rivera-rivera!", kAna).empty());
}

TEST(PasswordPolicy, MinLengthCountsCharactersNotBytes) {
  TenantSettings s;
  s.password_policy.min_length = 9;
  // 8 characters, 16 bytes.
  EXPECT_EQ(unmet_password_rules(s, "Aa1Öö2Üü", kAna), (std::vector<std::string>{"min_length"}));
}

TEST(PasswordPolicy, TheCommonListIsLoaded) {
  EXPECT_GT(common_password_count(), 3000u);
  EXPECT_TRUE(is_common_password("123456"));
  EXPECT_TRUE(is_common_password("PASSWORD"));
  EXPECT_TRUE(is_common_password("letmein"));
  EXPECT_FALSE(is_common_password("Correct7Horse9Staple"));
}

TEST(PasswordPolicy, TemporaryPasswordsAlwaysMeetThePolicy) {
  commands::SodiumRandom random;
  TenantSettings s;
  for (auto policy : {PasswordPolicy{}, PasswordPolicy{8, true, true, true, true},
                      PasswordPolicy{64, true, true, true, true}, PasswordPolicy{20, false, false, false, false}}) {
    s.password_policy = policy;
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      auto pw = generate_temporary_password(policy, random);
      EXPECT_GE(pw.size(), std::max<std::size_t>(14, static_cast<std::size_t>(policy.min_length)));
      // (No personal context: a random password may by chance contain "ana".)
      EXPECT_TRUE(unmet_password_rules(s, pw, PasswordContext{}).empty()) << pw;
      EXPECT_EQ(pw.find_first_of("0O1lI"), std::string::npos) << pw;
      seen.insert(pw);
    }
    EXPECT_EQ(seen.size(), 200u);
  }
}

}  // namespace
}  // namespace latchkey::domain
