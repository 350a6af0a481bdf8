// Every event type round-trips through its JSON encoding, and decoding
// refuses anything that is not exactly what an encoder writes.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "latchkey/domain/events.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/messages.hpp"

namespace latchkey::domain {
namespace {

template <std::size_t... I>
std::vector<DomainEvent> defaults(std::index_sequence<I...>) {
  return {DomainEvent{std::in_place_index<I>}...};
}

std::vector<DomainEvent> one_of_each() {
  return defaults(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
}

// Gives every scalar field a distinctive value, recursively.
void fill(nlohmann::json& j, const std::string& path) {
  for (auto& [key, value] : j.items()) {
    const std::string here = path + "." + key;
    if (value.is_string()) {
      value = "v" + here;
    } else if (value.is_boolean()) {
      value = !value.get<bool>();
    } else if (value.is_number_integer()) {
      value = static_cast<std::int64_t>(here.size()) * 7 + 3;
    } else if (value.is_array()) {
      value = nlohmann::json::array({"a" + here, "b" + here});
    } else if (value.is_object()) {
      fill(value, here);
    }
  }
}

TEST(Events, EveryTypeHasAUniqueName) {
  auto types = all_event_types();
  std::set<std::string_view> unique(types.begin(), types.end());
  EXPECT_EQ(unique.size(), types.size());
  EXPECT_EQ(types.size(), std::variant_size_v<DomainEvent>);
}

TEST(Events, EveryTypeRoundTripsWithEveryFieldSet) {
  for (const auto& sample : one_of_each()) {
    const auto type = event_type(sample);
    SCOPED_TRACE(std::string(type));
    auto json = nlohmann::json::parse(encode_payload(sample));
    ASSERT_TRUE(json.is_object());
    fill(json, "");
    auto decoded = decode_event(type, kSchemaVersion, json.dump());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(event_type(*decoded), type);
    EXPECT_EQ(nlohmann::json::parse(encode_payload(*decoded)), json);
  }
}

TEST(Events, DecodingRefusesAMissingField) {
  for (const auto& sample : one_of_each()) {
    const auto type = event_type(sample);
    auto json = nlohmann::json::parse(encode_payload(sample));
    for (const auto& [key, value] : json.items()) {
      auto without = json;
      without.erase(key);
      auto decoded = decode_event(type, kSchemaVersion, without.dump());
      ASSERT_FALSE(decoded.ok()) << type << " without " << key;
      EXPECT_EQ(decoded.error().code, "malformed_event");
    }
  }
}

TEST(Events, DecodingRefusesAnUnknownField) {
  for (const auto& sample : one_of_each()) {
    auto json = nlohmann::json::parse(encode_payload(sample));
    json["password"] = "hunter2";
    auto decoded = decode_event(event_type(sample), kSchemaVersion, json.dump());
    ASSERT_FALSE(decoded.ok()) << event_type(sample);
    EXPECT_EQ(decoded.error().code, "malformed_event");
    EXPECT_EQ(decoded.error().message.find("hunter2"), std::string::npos);
  }
}

TEST(Events, DecodingRefusesAWrongType) {
  for (const auto& sample : one_of_each()) {
    auto json = nlohmann::json::parse(encode_payload(sample));
    for (const auto& [key, value] : json.items()) {
      auto wrong = json;
      wrong[key] = value.is_string() ? nlohmann::json(42) : nlohmann::json("text");
      auto decoded = decode_event(event_type(sample), kSchemaVersion, wrong.dump());
      EXPECT_FALSE(decoded.ok()) << event_type(sample) << "." << key;
    }
  }
}

TEST(Events, DecodingRefusesUnknownTypesVersionsAndBadJson) {
  struct Case {
    std::string type;
    std::uint32_t version;
    std::string payload;
  };
  const std::vector<Case> cases = {
      {"NoSuchEvent", 1, "{}"},
      {"FamilyRegistered", 2, R"({"family_id":"f","name":"n"})"},
      {"FamilyRegistered", 0, R"({"family_id":"f","name":"n"})"},
      {"FamilyRegistered", 1, R"({"family_id":"f","name":)"},
      {"FamilyRegistered", 1, R"(["family_id","name"])"},
      {"FamilyRegistered", 1, "null"},
      {"FamilyRegistered", 1, ""},
      {"FamilyRegistered", 1, R"({"family_id":"f","name":"n"} trailing)"},
  };
  for (const auto& c : cases) {
    auto decoded = decode_event(c.type, c.version, c.payload);
    ASSERT_FALSE(decoded.ok()) << c.type << " v" << c.version << " " << c.payload;
    EXPECT_EQ(decoded.error().code, "malformed_event");
  }
  EXPECT_TRUE(decode_event("FamilyRegistered", 1, R"({"family_id":"f","name":"n"})").ok());
}

}  // namespace
}  // namespace latchkey::domain

namespace latchkey::domain {
namespace {

// Found by fuzz_events: an integer field given a float, or an integer too
// large for int64 (which nlohmann parses as a float), was cast with
// undefined behaviour. Now refused like any malformed payload.
TEST(EventDecoding, NumbersOutOfRangeAreRefused) {
  const std::string base = R"({"guardian_id":"g1","reset_id":"r1","channel":"email","recipient":"a***@example.com",)"
                           R"("token_hash":"ab","requested_by":"staff","expires_at_us":)";
  EXPECT_TRUE(decode_event("ResetRequested", kSchemaVersion, base + "1795446245000000}").ok());
  for (const char* bad : {"35908924892489999998", "1e300", "1.5", "-1e300", "18446744073709551615"}) {
    auto r = decode_event("ResetRequested", kSchemaVersion, base + bad + "}");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "malformed_event") << bad;
  }
  EXPECT_FALSE(decode_outbox_message(R"({"id":"m","created_at_us":1e300})").ok());
}

// decode_event's fast path and the nlohmann reference give the same answer:
// both refuse (with the same message), or both decode to the same event.
void expect_same_answer(std::string_view type, const std::string& payload) {
  auto fast = decode_event(type, kSchemaVersion, payload);
  auto reference = decode_event_reference(type, kSchemaVersion, payload);
  ASSERT_EQ(fast.ok(), reference.ok()) << payload;
  if (fast.ok()) {
    EXPECT_EQ(encode_payload(*fast), encode_payload(*reference)) << payload;
  } else {
    EXPECT_EQ(fast.error().message, reference.error().message) << payload;
  }
}

TEST(EventDecoding, TheFastPathAnswersAsTheReferenceOnEveryType) {
  for (const auto& sample : one_of_each()) {
    const auto type = event_type(sample);
    SCOPED_TRACE(std::string(type));
    auto json = nlohmann::json::parse(encode_payload(sample));
    fill(json, "");
    expect_same_answer(type, json.dump());
    expect_same_answer(type, encode_payload(sample));
    expect_same_answer(type, json.dump(2));  // whitespace: the reference decides
    // What the log holds takes the fast path, but for the tenant's nested settings.
    const bool nested = type == "TenantCreated" || type == "TenantConfigured";
    EXPECT_EQ(decode_event_flat(type, json.dump()).has_value(), !nested);
    EXPECT_FALSE(decode_event_flat(type, json.dump(2)).has_value());
  }
}

// The fast writer writes what nlohmann writes, byte for byte: every type with
// every field set, and strings with every escape nlohmann makes.
TEST(EventEncoding, TheFastWriterWritesWhatTheReferenceWrites) {
  for (const auto& sample : one_of_each()) {
    const auto type = event_type(sample);
    SCOPED_TRACE(std::string(type));
    auto json = nlohmann::json::parse(encode_payload(sample));
    fill(json, "");
    auto filled = decode_event(type, kSchemaVersion, json.dump());
    ASSERT_TRUE(filled.ok()) << filled.error().message;
    EXPECT_EQ(encode_payload(sample), encode_payload_reference(sample));
    EXPECT_EQ(encode_payload(*filled), encode_payload_reference(*filled));
    EXPECT_EQ(encode_payload(*filled), json.dump());
  }
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  const std::string texts[] = {
      "", every_ascii, "Jos\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", "quote\" back\\ slash/",
      std::string("nul\0inside", 10), "\x7f\x1f\x01",
  };
  for (const auto& text : texts) {
    const DomainEvent events[] = {
        SessionEnded{text, "s", text},
        LoginPermissionChanged{"g", true, {text, "b", text}},
        LoginFailed{text, "r", -9'223'372'036'854'775'807 - 1},
        AccountLockedOut{"g", 9'223'372'036'854'775'807, 0},
    };
    for (const auto& e : events) EXPECT_EQ(encode_payload(e), encode_payload_reference(e)) << text;
  }
}

// A string that is not UTF-8 is refused as nlohmann refuses it.
TEST(EventEncoding, AStringThatIsNotUtf8IsRefusedAsTheReferenceRefusesIt) {
  for (const std::string bad : {"\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff"}) {
    const DomainEvent e = SessionEnded{"g", "s", "ok then " + bad};
    EXPECT_THROW(encode_payload_reference(e), nlohmann::json::type_error);
    EXPECT_THROW(encode_payload(e), nlohmann::json::type_error);
  }
}

TEST(EventDecoding, TheFastPathAnswersAsTheReferenceOnTheEdgesOfItsSubset) {
  // SessionEnded: guardian_id, session_id, reason (strings).
  // LoginFailed: guardian_id, reason (strings), failed_count (int64).
  // LoginPermissionChanged: guardian_id, can_log_in (bool), revoked_sessions (strings).
  const std::pair<const char*, std::string> cases[] = {
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"logout"})"},
      {"SessionEnded", R"({"reason":"logout","session_id":"s","guardian_id":"g"})"},  // any order
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s"})"},                     // missing
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x","extra":1})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x","reason":"y"})"},  // duplicate
      {"SessionEnded", R"({"guardian_id":"g","guardian_id":"h","reason":"y"})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"a\"b\\c\/d\n\t\r\b\f"})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"\u00e9\ud83d\ude00\u0000"})"},
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"Jos\xc3\xa9 \xf0\x9f\x98\x80\"}"},
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"\xc3\x28\"}"},      // bad UTF-8
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"\xc0\xaf\"}"},      // overlong
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"\xed\xa0\x80\"}"},  // surrogate
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"\xf4\x90\x80\x80\"}"},
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"\xe2\x82\"}"},      // cut short
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"tab\there\"}"},     // raw control
      {"SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"del\x7f\"}"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x"} )"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x"}x)"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x",})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":null})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":7})"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x")"},
      {"SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"x)"},
      {"SessionEnded", R"({"gu\u0061rdian_id":"g","session_id":"s","reason":"x"})"},
      {"SessionEnded", R"({})"},
      {"SessionEnded", R"([])"},
      {"SessionEnded", ""},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":0})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":-0})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":-42})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":007})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":1.0})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":1e3})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":-})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":999999999999999999})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":9223372036854775807})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":9223372036854775808})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":-9223372036854775808})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":true})"},
      {"LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":"1"})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":false,"revoked_sessions":[]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":true,"revoked_sessions":["a","b"]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":1,"revoked_sessions":["a"]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":tru,"revoked_sessions":["a"]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":true,"revoked_sessions":["a",]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":true,"revoked_sessions":["a",1]})"},
      {"LoginPermissionChanged", R"({"guardian_id":"g","can_log_in":true,"revoked_sessions":"a"})"},
      {"TenantConfigured", R"({"settings":{},"changed":[]})"},
  };
  for (const auto& [type, payload] : cases) expect_same_answer(type, payload);

  // What the fast path takes and what it leaves to the reference.
  const auto flat = [](const char* type, const std::string& payload) {
    return decode_event_flat(type, payload).has_value();
  };
  EXPECT_TRUE(flat("SessionEnded", "{\"guardian_id\":\"g\",\"session_id\":\"s\",\"reason\":\"Jos\xc3\xa9\"}"));
  EXPECT_TRUE(flat("SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"a\"b\n"})"));
  EXPECT_FALSE(flat("SessionEnded", R"({"guardian_id":"g","session_id":"s","reason":"\u00e9"})"));
  EXPECT_TRUE(flat("LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":-42})"));
  EXPECT_FALSE(flat("LoginFailed", R"({"guardian_id":"g","reason":"r","failed_count":1000000000000000000})"));
}

}  // namespace
}  // namespace latchkey::domain

namespace latchkey::domain {
namespace {

TEST(GuardianSessions, ALoginEndsTheOldestLiveSessionsPastTheLimit) {
  // Sessions s0…s(n-1), s_i expiring at 1000 + i; "now" decides which are live.
  auto with_sessions = [](std::size_t n) {
    GuardianState g;
    for (std::size_t i = 0; i < n; ++i) {
      g.sessions["s" + std::to_string(100 + i)] = Session{"h", static_cast<Micros>(1000 + i), false};
    }
    return g;
  };
  struct Case {
    const char* name;
    std::size_t sessions;
    Micros now;
    std::vector<std::string> expected;
  };
  const std::size_t k = kMaxSessions;
  for (const auto& c : std::vector<Case>{
           {"none", 0, 0, {}},
           {"one short of the limit", k - 1, 0, {}},
           {"at the limit: the oldest goes", k, 0, {"s100"}},
           {"over the limit (older data): the oldest go", k + 2, 0, {"s100", "s101", "s102"}},
           {"at the limit but two expired: room", k, 1001, {}},
           {"over by expired ones only: room", k + 1, 1001, {}},
           {"all expired", k + 3, 5000, {}}}) {
    EXPECT_EQ(with_sessions(c.sessions).sessions_to_end_for_login(c.now), c.expected) << c.name;
  }
}

}  // namespace
}  // namespace latchkey::domain
