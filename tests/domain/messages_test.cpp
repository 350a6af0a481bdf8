// Outbox messages: what the guardian receives (SPEC §7).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/messages.hpp"
#include "latchkey/domain/settings.hpp"
#include "latchkey/domain/templates.hpp"

namespace latchkey::domain {
namespace {

MessageContext context(std::string portal_url = "http://localhost:8080/portal") {
  return {"m1", "sunny-days", "Sunny Days Daycare", std::move(portal_url), "g1", 1'000'000'000};
}

const std::string kToken = "AbCdEfGhIjKlMnOpQrStUv." + std::string(43, 'x');

TEST(Messages, ResetEmailHoldsTheLinkAndTheUserId) {
  auto m = reset_link_message(context(), "email", "ana@example.com", "ana@example.com", kToken,
                              1'000'000'000 + 1800 * kMicrosPerSecond);
  EXPECT_EQ(m.kind, "reset_link");
  EXPECT_EQ(m.channel, "email");
  EXPECT_NE(m.body.find("http://localhost:8080/portal/reset?token=" + kToken + "\n"), std::string::npos);
  EXPECT_NE(m.body.find("Your User ID is: ana@example.com"), std::string::npos);
  EXPECT_NE(m.body.find("30 minutes"), std::string::npos);
  EXPECT_FALSE(m.subject.empty());
}

TEST(Messages, ResetSmsStaysUnder160Characters) {
  const std::string longest_url = "https://" + std::string(kMaxPortalUrlForSms - 8, 'p');
  for (const auto& login : {std::string("ana"), std::string(128, 'l')}) {
    auto m = reset_link_message(context(longest_url), "sms", "+15551234567", login, kToken, 0);
    EXPECT_LT(m.body.size(), 160u) << m.body;
    EXPECT_NE(m.body.find(longest_url + "/reset?token=" + kToken), std::string::npos);
    EXPECT_TRUE(m.subject.empty());
  }
  auto short_one = reset_link_message(context(), "sms", "+15551234567", "ana", kToken, 0);
  EXPECT_NE(short_one.body.find("User ID: ana"), std::string::npos);
}

TEST(Messages, TemporaryPasswordHasItsOwnLineAndTheLoginLink) {
  auto m = temporary_password_message(context(), "ana@example.com", "ana", "Tmp9Pass7Word3x",
                                      1'000'000'000 + 72 * 3600 * kMicrosPerSecond);
  EXPECT_NE(m.body.find("\nTemporary password: Tmp9Pass7Word3x\n"), std::string::npos);
  EXPECT_NE(m.body.find("http://localhost:8080/portal/login"), std::string::npos);
  EXPECT_NE(m.body.find("3 days"), std::string::npos);
}

TEST(Messages, NoticesHoldNoSecretAndExpire) {
  auto ctx = context();
  for (const auto& m : {password_changed_notice(ctx, "ana@example.com"),
                        login_id_changed_notice(ctx, "ana@example.com", "ana.r"),
                        email_changed_notice(ctx, "old@example.com", "old@example.com", "new@example.com")}) {
    EXPECT_EQ(m.body.find("token"), std::string::npos);
    EXPECT_EQ(m.body.find("password:"), std::string::npos);
    EXPECT_EQ(m.expires_at_us, ctx.now_us + kNoticeLifetime);
  }
  auto changed = email_changed_notice(ctx, "old@example.com", "old@example.com", "new@example.com");
  EXPECT_NE(changed.body.find("o***@example.com"), std::string::npos);
  EXPECT_NE(changed.body.find("n***@example.com"), std::string::npos);
}

TEST(Messages, RoundTripAndStrictDecoding) {
  auto m = password_changed_notice(context(), "ana@example.com");
  auto back = decode_outbox_message(encode_outbox_message(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(decode_outbox_message("{").ok());
  EXPECT_FALSE(decode_outbox_message(R"({"id":"m1"})").ok());
}

// The outbox is written by a writer of its own and read by a reader of its
// own (the flat fast paths); both must answer exactly as nlohmann does.
nlohmann::json reference_json(const OutboxMessage& m) {
  return {{"id", m.id},
          {"tenant", m.tenant},
          {"sender_name", m.sender_name},
          {"guardian_id", m.guardian_id},
          {"channel", m.channel},
          {"kind", m.kind},
          {"to", m.to},
          {"subject", m.subject},
          {"body", m.body},
          {"credential_ref", m.credential_ref},
          {"created_at_us", m.created_at_us},
          {"expires_at_us", m.expires_at_us}};
}

TEST(Messages, TheOutboxIsWrittenAndReadAsNlohmannWritesAndReadsIt) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  const std::string texts[] = {
      "", every_ascii, "Jos\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", "quote\" back\\ slash/",
      std::string("nul\0inside", 10), "\x7f\x1f\x01", std::string(5000, 'b'),
  };
  auto ctx = context();
  for (const auto& text : texts) {
    SCOPED_TRACE(nlohmann::json(text).dump());
    auto m = reset_link_message(ctx, "email", "ana@example.com", "ana", kToken, 1'000'000'000 + 1800 * kMicrosPerSecond);
    m.body = text + m.body;
    m.sender_name = text;
    m.subject = text;
    for (const auto at : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{999'999'999'999'999'999},
                          std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
      m.expires_at_us = at;
      const auto reference = reference_json(m).dump();
      EXPECT_EQ(encode_outbox_message(m), reference);
      auto back = decode_outbox_message(reference);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(*back, m);
      // Keys in another order and whitespace: the reader declines, nlohmann reads it.
      auto spaced = decode_outbox_message(reference_json(m).dump(1));
      ASSERT_TRUE(spaced.ok());
      EXPECT_EQ(*spaced, m);
    }
  }
}

TEST(Messages, TheOutboxFileLineIsWhatNlohmannWrites) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  for (const std::string& text : {std::string(), every_ascii, std::string("Jos\xc3\xa9 \xf0\x9f\x98\x80"),
                                  std::string("nul\0inside", 10)}) {
    auto m = reset_link_message(context(), "sms", "+15551234567", "ana", kToken, 0);
    m.body += text;
    m.to = text;
    const std::int64_t at = 1'764'000'000'123'456;
    const nlohmann::json reference = {{"id", m.id},   {"tenant", m.tenant},   {"channel", m.channel},
                                      {"to", m.to},   {"subject", m.subject}, {"body", m.body},
                                      {"sent_at", format_time(at)}};
    EXPECT_EQ(outbox_file_line(m, at), reference.dump() + "\n");
  }
}

TEST(Messages, AnOutboxEntryTheReferenceRefusesIsRefused) {
  const auto good = reference_json(password_changed_notice(context(), "ana@example.com"));
  auto with = [&](const char* key, nlohmann::json value) {
    auto j = good;
    j[key] = std::move(value);
    return j.dump();
  };
  auto without = [&](const char* key) {
    auto j = good;
    j.erase(key);
    return j.dump();
  };
  const std::string refused[] = {
      with("created_at_us", 1.5),
      with("created_at_us", "1"),
      with("body", 7),
      with("extra", "field"),
      without("credential_ref"),
      good.dump() + "x",
      "{\"id\":\"m\",\"id\":\"m\"}",
      "[]",
      "",
      R"({"id":"m","created_at_us":1e300})",
      R"({"id":"m","created_at_us":99999999999999999999})",
  };
  for (const auto& text : refused) EXPECT_FALSE(decode_outbox_message(text).ok()) << text;
  auto bad_utf8 = good.dump();
  bad_utf8.replace(bad_utf8.find("ana"), 3, "\xc3\x28" "a");
  EXPECT_FALSE(decode_outbox_message(bad_utf8).ok());
}

TEST(Messages, Durations) {
  EXPECT_EQ(describe_duration(1800 * kMicrosPerSecond), "30 minutes");
  EXPECT_EQ(describe_duration(3600 * kMicrosPerSecond), "1 hour");
  EXPECT_EQ(describe_duration(86400 * kMicrosPerSecond), "24 hours");
  EXPECT_EQ(describe_duration(259200 * kMicrosPerSecond), "3 days");
  EXPECT_EQ(describe_duration(90 * kMicrosPerSecond), "1 minute");
}

TEST(Messages, DefaultsGreetTheGuardianByName) {
  auto ctx = context();
  ctx.first_name = "Ana";
  ctx.last_name = "Rivera";
  auto m = reset_link_message(ctx, "email", "ana@example.com", "ana", kToken, ctx.now_us + 1800 * kMicrosPerSecond);
  EXPECT_EQ(m.body.rfind("Hi Ana,\n", 0), 0u) << m.body;
  EXPECT_EQ(m.subject, "Reset your Sunny Days Daycare portal password");
  EXPECT_EQ(m.sender_name, "Sunny Days Daycare");
  ctx.first_name.clear();
  EXPECT_EQ(password_changed_notice(ctx, "ana@example.com").body.rfind("Hi there,\n", 0), 0u);
}

TEST(Messages, TenantTemplatesOverrideTheWording) {
  MessageTemplates templates;
  templates["reset_link.email"] = {"Password help for {guardian_name}",
                                   "{tenant_name}: {link} ({expires_in}, User ID {login_id})"};
  auto ctx = context();
  ctx.first_name = "Ana";
  ctx.last_name = "Rivera";
  ctx.templates = &templates;
  auto m = reset_link_message(ctx, "email", "ana@example.com", "ana", kToken, ctx.now_us + 3600 * kMicrosPerSecond);
  EXPECT_EQ(m.subject, "Password help for Ana Rivera");
  EXPECT_EQ(m.body, "Sunny Days Daycare: http://localhost:8080/portal/reset?token=" + kToken +
                        " (1 hour, User ID ana)");
  // Kinds without an override keep the built-in wording.
  EXPECT_NE(password_changed_notice(ctx, "a@example.com").subject.find("password was changed"), std::string::npos);
}

TEST(Messages, AnSmsTemplateTooLongFallsBackToOneThatFits) {
  MessageTemplates templates;
  templates["reset_link.sms"] = {"", std::string(120, 'w') + " {link}"};
  auto ctx = context();
  ctx.templates = &templates;
  auto m = reset_link_message(ctx, "sms", "+15551234567", "ana", kToken, 0);
  EXPECT_LT(m.body.size(), 160u);
  EXPECT_EQ(m.body, "Reset your password: http://localhost:8080/portal/reset?token=" + kToken + " User ID: ana");
  templates["reset_link.sms"] = {"", "{tenant_name}: {link}"};
  EXPECT_EQ(reset_link_message(ctx, "sms", "+15551234567", "ana", kToken, 0).body,
            "Sunny Days Daycare: http://localhost:8080/portal/reset?token=" + kToken);
}

TEST(Templates, EveryDefaultIsValid) {
  for (const auto& key : template_keys()) {
    EXPECT_TRUE(validate_template(key, default_template(key)).ok()) << key;
  }
}

TEST(Templates, BadOverridesAreRefusedWithTheField) {
  struct Case {
    std::string key;
    MessageTemplate t;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"reset_link.fax", {"s", "{link}"}, "templates.reset_link.fax"},
      {"reset_link.email", {"", "{link}"}, "templates.reset_link.email.subject"},
      {"reset_link.email", {"Reset", "no link here"}, "templates.reset_link.email.body"},
      {"reset_link.email", {"Your link {link}", "{link}"}, "templates.reset_link.email.subject"},
      {"reset_link.email", {"Reset", "{link} {temporary_password}"}, "templates.reset_link.email.body"},
      {"reset_link.email", {"Reset", "{link} {oops"}, "templates.reset_link.email.body"},
      {"reset_link.email", {"Reset", "{link} }"}, "templates.reset_link.email.body"},
      {"reset_link.email", {"Reset", "{link} {Bad-Name}"}, "templates.reset_link.email.body"},
      {"reset_link.email", {"Two\nlines", "{link}"}, "templates.reset_link.email.subject"},
      {"reset_link.email", {"Reset", "{link}\x07"}, "templates.reset_link.email.body"},
      {"reset_link.email", {std::string(kMaxTemplateSubject + 1, 's'), "{link}"}, "templates.reset_link.email.subject"},
      {"reset_link.email", {"Reset", "{link}" + std::string(kMaxTemplateBody, 'b')}, "templates.reset_link.email.body"},
      {"reset_link.sms", {"subject", "{link}"}, "templates.reset_link.sms.subject"},
      {"reset_link.sms", {"", "{link}\nsecond line"}, "templates.reset_link.sms.body"},
      {"temporary_password.email", {"Temp", "{login_url}"}, "templates.temporary_password.email.body"},
      {"password_changed.email", {"Changed", "{link}"}, "templates.password_changed.email.body"},
      {"password_changed.email", {"Changed", ""}, "templates.password_changed.email.body"},
  };
  for (const auto& c : cases) {
    auto r = validate_template(c.key, c.t);
    ASSERT_FALSE(r.ok()) << c.key << " " << c.t.subject << " / " << c.t.body;
    EXPECT_EQ(r.error().code, "invalid_setting");
    EXPECT_EQ(r.error().field, c.field) << c.t.body;
  }
}

TEST(Templates, SetAndClearedThroughTheSettings) {
  TenantSettings s;
  auto changed = apply_settings_patch(s, nlohmann::json::parse(
      R"({"templates":{"password_changed.email":{"subject":"Changed","body":"Hi {first_name}"}}})"));
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(*changed, std::vector<std::string>{"templates.password_changed.email"});
  EXPECT_EQ(s.templates.at("password_changed.email").body, "Hi {first_name}");
  // Settings (with templates) survive their JSON form; settings recorded
  // before templates existed decode with none.
  nlohmann::json j = s;
  EXPECT_EQ(j.get<TenantSettings>(), s);
  j.erase("templates");
  EXPECT_TRUE(j.get<TenantSettings>().templates.empty());
  auto bad = apply_settings_patch(s, nlohmann::json::parse(
      R"({"templates":{"password_changed.email":{"subject":"Changed","body":"{link}"}}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(s.templates.at("password_changed.email").body, "Hi {first_name}");  // unchanged
  EXPECT_FALSE(apply_settings_patch(s, nlohmann::json::parse(R"({"templates":{"nope.email":null}})")).ok());
  EXPECT_FALSE(apply_settings_patch(s, nlohmann::json::parse(
      R"({"templates":{"password_changed.email":{"subject":"S","body":"B","extra":1}}})")).ok());
  changed = apply_settings_patch(s, nlohmann::json::parse(R"({"templates":{"password_changed.email":null}})"));
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(s.templates.empty());
}

TEST(Messages, OnlyTheCredentialInForceIsStillCurrent) {
  GuardianState g;
  g.exists = true;
  g.id = "g1";
  g.resets = {{"r1", "h1", "email", 500, ResetStatus::superseded, 0}, {"r2", "h2", "email", 500, ResetStatus::pending, 0}};
  g.temporary_password_hash = "$argon2id$tmp";
  g.temporary_password_expires_at_us = 500;
  OutboxMessage link;
  link.kind = "reset_link";
  OutboxMessage temp;
  temp.kind = "temporary_password";
  OutboxMessage notice;
  notice.kind = "password_changed";
  struct Case {
    const char* name;
    const OutboxMessage* m;
    std::string ref;
    Micros now;
    bool expected;
  };
  for (const auto& c : std::vector<Case>{{"pending link", &link, "r2", 100, true},
                                          {"superseded link", &link, "r1", 100, false},
                                          {"expired link", &link, "r2", 600, false},
                                          {"unknown link", &link, "r9", 100, false},
                                          {"link without ref", &link, "", 100, false},
                                          {"temporary password in force", &temp, "$argon2id$tmp", 100, true},
                                          {"replaced temporary password", &temp, "$argon2id$old", 100, false},
                                          {"expired temporary password", &temp, "$argon2id$tmp", 600, false},
                                          {"notice", &notice, "", 100, true}}) {
    OutboxMessage m = *c.m;
    m.credential_ref = c.ref;
    EXPECT_EQ(still_current(g, m, c.now), c.expected) << c.name;
  }
  g.can_log_in = false;  // login turned off: no credential goes out
  link.credential_ref = "r2";
  EXPECT_FALSE(still_current(g, link, 100));
  EXPECT_TRUE(still_current(g, notice, 100));
}

}  // namespace
}  // namespace latchkey::domain
