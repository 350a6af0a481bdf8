// Rows are written without a JSON document (projections/src/row_json.hpp).
// Whatever the row holds, the text must read back, through nlohmann and
// through Rows' own reader, as exactly the value nlohmann would have written.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "row_json.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

using nlohmann::json;

template <class Row>
std::string written(const Row& row) {
  std::string out;
  write_json(out, row);
  return out;
}

// Strings a row may hold: every escape nlohmann writes, the control bytes it
// writes as \u00XX, DEL (kept as it is), and UTF-8 of two, three and four bytes.
const std::vector<std::string> kStrings = {
    "",
    "plain",
    "O'Brien \"Junior\"",
    "back\\slash/forward",
    "tab\there\nnew line\r\f\b",
    std::string("nul\0byte", 8),
    "\x01\x1f\x7f",
    "Zoë Ñúñez",
    "日本語",
    "emoji \xF0\x9F\x98\x80 end",
};

TEST(RowJson, StringsAreEscapedAsNlohmannEscapesThem) {
  for (const auto& s : kStrings) {
    std::string out;
    row_json::write_string(out, s);
    EXPECT_EQ(out, json(s).dump()) << "for " << json(s).dump();
  }
}

TEST(RowJson, TextThatIsNotUtf8IsRefusedAsNlohmannRefusesIt) {
  std::string out;
  EXPECT_THROW(row_json::write_string(out, "bad \xC3\x28 byte"), json::type_error);
}

domain::GuardianState a_guardian(const std::string& s, std::int64_t n) {
  domain::GuardianState g;
  g.exists = true;
  g.id = "g-" + s;
  g.family_id = s;
  g.first_name = s;
  g.last_name = s + s;
  g.email = "a@example.com";
  g.phone = "+15550000000";
  g.can_log_in = n % 2 == 0;
  g.custom_login_id = s;
  g.has_logged_in = true;
  g.password_hash = "*";
  g.temporary_password_expires_at_us = n;
  g.must_change_password = n % 3 == 0;
  g.security_question = s;
  g.last_login_us = -n;
  g.login_count = std::numeric_limits<std::int64_t>::max();
  g.failed_login_count = std::numeric_limits<std::int64_t>::min();
  g.locked_until_us = 0;
  g.resets.push_back({"r1", "", "email", n, domain::ResetStatus::pending, 0});
  g.resets.push_back({"r2", s, "sms", n + 1, domain::ResetStatus::exhausted, 3});
  g.reset_requests_sent_us = {1, 2, n};
  g.sessions[s] = {s, n, true};
  g.sessions["s2"] = {"", 0, false};
  return g;
}

TEST(RowJson, AGuardianRowReadsBackAsTheValueNlohmannWrites) {
  std::int64_t n = 1;
  for (const auto& s : kStrings) {
    const auto g = a_guardian(s, n++);
    const auto text = written(g);
    EXPECT_EQ(json::parse(text), json(g)) << text;
    domain::GuardianState back;
    ASSERT_TRUE(read_json(text, back)) << text;
    EXPECT_EQ(back, g);
  }
  EXPECT_EQ(json::parse(written(domain::GuardianState{})), json(domain::GuardianState{}));
}

TEST(RowJson, EveryRowTypeReadsBackAsTheValueNlohmannWrites) {
  FamilyRow family{"f1", "The \"Smiths\"", {"g1", "g2"}, {{"c1", "Kid", "Smith"}, {"c2", "Zoë", "\t"}}};
  EXPECT_EQ(json::parse(written(family)), json(family));
  EXPECT_EQ(json::parse(written(FamilyRow{})), json(FamilyRow{}));

  GuardianNameRow name{"f1", "Ana", "Núñez"};
  EXPECT_EQ(json::parse(written(name)), json(name));

  GuardianSessionsRow sessions;
  sessions.sessions["b"] = {"hash", 42, false};
  sessions.sessions["a\"quoted"] = {"", -1, true};
  EXPECT_EQ(json::parse(written(sessions)), json(sessions));
  EXPECT_EQ(json::parse(written(GuardianSessionsRow{})), json(GuardianSessionsRow{}));

  SmsBalanceRow balance{-7};
  EXPECT_EQ(json::parse(written(balance)), json(balance));

  domain::PolicyRecord policy{"photo", "Photo release", {{1, "aa"}, {12, "bb"}}};  // integer keys: pairs
  EXPECT_EQ(json::parse(written(policy)), json(policy));

  domain::TenantState tenant;
  tenant.exists = true;
  tenant.id = "t1";
  tenant.name = "Sunny Days";
  tenant.sms_balance = 5;
  tenant.api_keys["k1"] = {"k1", "Front desk", "staff", "", true};
  tenant.policies["photo"] = policy;
  EXPECT_EQ(json::parse(written(tenant)), json(tenant));
  domain::TenantState back;
  ASSERT_TRUE(read_json(written(tenant), back));
  EXPECT_EQ(json(back), json(tenant));
}

// The rows written only as values are read by field name (read_models.cpp):
// these are their exact shapes.
TEST(RowJson, ValueRowsHaveTheirFieldsAndNullsWhereNothingIsSet) {
  EXPECT_EQ(json::parse(written(SessionInfo{"t1", "g1", "s1", 99, true})),
            json({{"tenant", "t1"},
                  {"guardian_id", "g1"},
                  {"session_id", "s1"},
                  {"expires_at_us", 99},
                  {"must_change_password", true}}));
  EXPECT_EQ(json::parse(written(AcceptanceRow{"f1", "photo", 2, "manual", {"staff", "k1", "Front Desk"},
                                              std::string("signed on paper"), "2026-12-02T10:00:00Z", 17})),
            json({{"family_id", "f1"},
                  {"policy_id", "photo"},
                  {"version", 2},
                  {"method", "manual"},
                  {"accepted_by", {{"kind", "staff"}, {"id", "k1"}, {"name", "Front Desk"}}},
                  {"reason", "signed on paper"},
                  {"at", "2026-12-02T10:00:00Z"},
                  {"position", 17}}));
  EXPECT_TRUE(json::parse(written(AcceptanceRow{}))["reason"].is_null());
  EXPECT_EQ(json::parse(written(SmsLedgerRow{5, "2026-12-02T10:00:00Z", -1, 9, "reset_link_sms", std::string("g1"),
                                             {"staff", "k1", "Front Desk"}})),
            json({{"position", 5},
                  {"at", "2026-12-02T10:00:00Z"},
                  {"change", -1},
                  {"balance", 9},
                  {"reason", "reset_link_sms"},
                  {"guardian_id", "g1"},
                  {"actor", {{"kind", "staff"}, {"id", "k1"}, {"name", "Front Desk"}}}}));
  EXPECT_TRUE(json::parse(written(SmsLedgerRow{}))["guardian_id"].is_null());
}

// The audit indexes' runs of positions (a first position, then gaps as
// varints) read back as written, whatever the gaps, and a value that does
// not decode is refused rather than read as some other positions.
TEST(AuditRuns, PositionsReadBackAsWrittenAndMalformedGapsAreRefused) {
  auto read = [](std::uint64_t first, std::string_view gaps, std::vector<std::uint64_t>& out) {
    out.clear();
    return audit_runs::for_each_position(first, gaps, [&](std::uint64_t p) {
      out.push_back(p);
      return true;
    });
  };
  const std::vector<std::uint64_t> positions{7,
                                             8,
                                             9,
                                             136,
                                             137,
                                             16'521,
                                             16'522,
                                             2'113'674,
                                             1ull << 40,
                                             (1ull << 40) + 1,
                                             ~std::uint64_t{0} - 1,
                                             ~std::uint64_t{0}};
  std::string gaps;
  for (std::size_t i = 1; i < positions.size(); ++i)
    audit_runs::append_gap(gaps, positions[i] - positions[i - 1]);
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE(read(positions.front(), gaps, seen));
  EXPECT_EQ(seen, positions);
  EXPECT_TRUE(read(42, "", seen));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{42}));

  // The visitor stops the walk where it likes.
  seen.clear();
  EXPECT_TRUE(audit_runs::for_each_position(positions.front(), gaps, [&](std::uint64_t p) {
    seen.push_back(p);
    return seen.size() < 3;
  }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{7, 8, 9}));

  EXPECT_FALSE(read(1, std::string("\x80", 1), seen)) << "a truncated varint";
  EXPECT_FALSE(read(1, std::string("\x00", 1), seen)) << "a gap of 0";
  EXPECT_FALSE(read(~std::uint64_t{0}, std::string("\x01", 1), seen)) << "past 2^64";
  EXPECT_FALSE(read(1, std::string(11, '\xff'), seen)) << "a varint longer than 64 bits";
}

}  // namespace
}  // namespace latchkey::projections
