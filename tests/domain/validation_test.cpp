// Identifiers and contact data (SPEC §3), and the byte helpers.
#include <gtest/gtest.h>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/validation.hpp"

namespace latchkey::domain {
namespace {

TEST(Validation, TenantIds) {
  for (const char* ok : {"ab", "sunny-days", "a1", "0123456789012345678901234567890123456789"}) {
    EXPECT_FALSE(check_tenant_id(ok)) << ok;
  }
  for (const char* bad : {"", "a", "Sunny", "sunny_days", "sunny days", "ü1",
                          "01234567890123456789012345678901234567890"}) {
    EXPECT_TRUE(check_tenant_id(bad)) << bad;
  }
}

TEST(Validation, Emails) {
  for (const char* ok : {"", "ana@example.com", "a.b+c@sub.example.co", "O'Brien@example.ie"}) {
    EXPECT_FALSE(check_email(ok)) << ok;
  }
  for (const char* bad : {"ana", "@example.com", "ana@", "ana@example", "ana@@example.com", "ana@.example.com",
                          "ana@example..com", "an a@example.com", "ana@exa_mple.com", "ana@example.com."}) {
    auto e = check_email(bad);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->field, "email");
  }
  EXPECT_TRUE(check_email("", "email", /*required=*/true));
  EXPECT_TRUE(check_email(std::string(250, 'a') + "@example.com"));
}

TEST(Validation, PhonesAreE164) {
  for (const char* ok : {"", "+15551234567", "+447911123456", "+12345678"}) EXPECT_FALSE(check_phone(ok)) << ok;
  for (const char* bad : {"5551234567", "+0551234567", "+1 555 123 4567", "+1555123456789012", "+1234567", "+"}) {
    EXPECT_TRUE(check_phone(bad)) << bad;
  }
}

TEST(Validation, LoginIdsAndChildIdsAndNames) {
  EXPECT_FALSE(check_login_id("ana.rivera"));
  EXPECT_FALSE(check_login_id("ana@example.com"));
  EXPECT_TRUE(check_login_id("ab"));
  EXPECT_TRUE(check_login_id("ana rivera"));
  EXPECT_TRUE(check_login_id(std::string(129, 'a')));
  EXPECT_FALSE(check_child_id("S-1042"));
  EXPECT_TRUE(check_child_id(""));
  EXPECT_TRUE(check_child_id("S 1042"));
  EXPECT_FALSE(check_name("Zoë", "first_name"));
  EXPECT_TRUE(check_name("", "first_name"));
  EXPECT_FALSE(check_name("", "first_name", /*required=*/false));
  EXPECT_TRUE(check_name(" Zoë", "first_name"));
  EXPECT_TRUE(check_name("Zo\x01", "first_name"));
  EXPECT_TRUE(check_name(std::string(101, 'a'), "first_name"));
  EXPECT_EQ(login_key("  Ana@Example.COM "), "ana@example.com");
}

TEST(Encoding, Base64UrlHexAndConstantTimeCompare) {
  const std::uint8_t bytes[] = {0xfb, 0xff, 0x00, 0x10};
  EXPECT_EQ(base64url_encode(std::span(bytes, 1)), "-w");
  EXPECT_EQ(base64url_encode(std::span(bytes, 2)), "-_8");
  EXPECT_EQ(base64url_encode(std::span(bytes, 3)), "-_8A");
  EXPECT_EQ(base64url_encode(std::span(bytes, 4)), "-_8AEA");
  EXPECT_EQ(hex_encode(bytes), "fbff0010");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Encoding, LocatedSecrets) {
  auto ok = split_located_secret("g1.s3cr3t-_");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->id, "g1");
  EXPECT_EQ(ok->secret, "s3cr3t-_");
  for (const char* bad : {"", ".", "g1.", ".secret", "nodot", "g1.sec.ret", "g 1.secret", "g1.sec/ret"}) {
    EXPECT_FALSE(split_located_secret(bad)) << bad;
  }
}

TEST(Encoding, Utf8) {
  EXPECT_TRUE(is_clean_utf8("plain ascii"));
  EXPECT_TRUE(is_clean_utf8("Zoë 😀"));
  for (const char* bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "a\tb", "\x7f",
                          "\xc2\x85"}) {
    EXPECT_FALSE(is_clean_utf8(bad)) << bad;
  }
}

TEST(Masking, KeepsJustEnoughToRecognise) {
  EXPECT_EQ(mask_email("ana@example.com"), "a***@example.com");
  EXPECT_EQ(mask_phone("+15551234567"), "+1***67");
}

}  // namespace
}  // namespace latchkey::domain

namespace latchkey::domain {
namespace {

TEST(Time, FormatsAndParsesRfc3339) {
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_time(1'795'434'924'123'456), "2026-11-23T11:55:24.123Z");
  EXPECT_EQ(format_time(951'782'400'000'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(parse_time("2026-11-23T11:55:24.123456Z"), 1'795'434'924'123'456);
  EXPECT_EQ(parse_time("2026-11-23T11:55:24Z"), 1'795'434'924'000'000);
  EXPECT_EQ(parse_time("2000-02-29T00:00:00.000+00:00"), 951'782'400'000'000);
  for (const char* bad : {"", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T10:35:24", "2026-11-23T10:35:24+01:00",
                          "2026-11-23T10:35:24.Z"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

}  // namespace
}  // namespace latchkey::domain

namespace latchkey::domain {
namespace {

TEST(Encoding, HexRoundTripsAndRefusesNonHex) {
  const std::uint8_t bytes[] = {0x00, 0x7f, 0xab, 0xff};
  EXPECT_EQ(hex_decode(hex_encode(bytes)), std::string("\x00\x7f\xab\xff", 4));
  EXPECT_EQ(hex_decode("ABff"), std::string("\xab\xff"));
  EXPECT_EQ(hex_decode(""), std::string());
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
}

}  // namespace
}  // namespace latchkey::domain
