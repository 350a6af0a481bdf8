#include "latchkey/domain/messages.hpp"

#include "latchkey/domain/json_fields.hpp"
#include "latchkey/domain/validation.hpp"

namespace latchkey::domain {

LATCHKEY_JSON_STRICT(OutboxMessage, id, tenant, guardian_id, channel, kind, to, subject, body,
                     created_at_us, expires_at_us)

std::string encode_outbox_message(const OutboxMessage& message) {
  return nlohmann::json(message).dump();
}

Result<OutboxMessage> decode_outbox_message(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return make_error("malformed_message", "outbox entry is not valid JSON");
  try {
    return json.get<OutboxMessage>();
  } catch (const nlohmann::json::exception& e) {
    return make_error("malformed_message", std::string("outbox entry does not decode: ") + e.what());
  }
}

std::string describe_duration(Micros duration) {
  // Rounded to the second: the expiry and "now" may be read microseconds apart.
  const std::int64_t seconds = (duration + kMicrosPerSecond / 2) / kMicrosPerSecond;
  auto unit = [](std::int64_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
  };
  if (seconds % 86400 == 0 && seconds >= 86400 * 2) return unit(seconds / 86400, "day");
  if (seconds % 3600 == 0 && seconds >= 3600) return unit(seconds / 3600, "hour");
  if (seconds >= 60) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}

namespace {

OutboxMessage base(const MessageContext& ctx, std::string_view channel, std::string_view kind,
                   std::string_view to, Micros expires_at_us) {
  OutboxMessage m;
  m.id = ctx.message_id;
  m.tenant = ctx.tenant_id;
  m.guardian_id = ctx.guardian_id;
  m.channel = std::string(channel);
  m.kind = std::string(kind);
  m.to = std::string(to);
  m.created_at_us = ctx.now_us;
  m.expires_at_us = expires_at_us;
  return m;
}

const std::string& display_name(const MessageContext& ctx) {
  return ctx.tenant_name.empty() ? ctx.tenant_id : ctx.tenant_name;
}

}  // namespace

OutboxMessage reset_link_message(const MessageContext& ctx, std::string_view channel,
                                 std::string_view to, std::string_view login_id,
                                 std::string_view token, Micros expires_at_us) {
  auto m = base(ctx, channel, "reset_link", to, expires_at_us);
  const std::string link = ctx.portal_url + "/reset?token=" + std::string(token);
  if (channel == "sms") {
    m.body = "Reset your password: " + link;
    std::string with_id = m.body + " User ID: " + std::string(login_id);
    if (with_id.size() <= kMaxSmsBody) m.body = std::move(with_id);
    return m;
  }
  m.subject = "Reset your " + display_name(ctx) + " portal password";
  m.body = "Forgot your password for the " + display_name(ctx) + " parent portal?\n\n" +
           "Your User ID is: " + std::string(login_id) + "\n\n" +
           "Reset your password here:\n" + link + "\n\n" + "This link is valid for " +
           describe_duration(expires_at_us - ctx.now_us) + " and works once.\n" +
           "If you did not ask for this, you can ignore this message.\n";
  return m;
}

OutboxMessage temporary_password_message(const MessageContext& ctx, std::string_view to,
                                         std::string_view login_id, std::string_view password,
                                         Micros expires_at_us) {
  auto m = base(ctx, "email", "temporary_password", to, expires_at_us);
  m.subject = "Your temporary " + display_name(ctx) + " portal password";
  m.body = "A temporary password was issued for your " + display_name(ctx) +
           " parent portal account.\n\n" + "Your User ID is: " + std::string(login_id) + "\n" +
           "Temporary password: " + std::string(password) + "\n\n" + "Log in here:\n" +
           ctx.portal_url + "/login\n\n" + "It is valid for " +
           describe_duration(expires_at_us - ctx.now_us) +
           " and works once: after logging in you will choose a new password.\n";
  return m;
}

OutboxMessage password_changed_notice(const MessageContext& ctx, std::string_view to) {
  auto m = base(ctx, "email", "password_changed", to, ctx.now_us + kNoticeLifetime);
  m.subject = "Your " + display_name(ctx) + " portal password was changed";
  m.body = "The password of your " + display_name(ctx) +
           " parent portal account was just changed.\n" +
           "If this was not you, contact " + display_name(ctx) + " right away.\n";
  return m;
}

OutboxMessage login_id_changed_notice(const MessageContext& ctx, std::string_view to,
                                      std::string_view new_login_id) {
  auto m = base(ctx, "email", "login_id_changed", to, ctx.now_us + kNoticeLifetime);
  m.subject = "Your " + display_name(ctx) + " portal User ID was changed";
  m.body = "Your User ID for the " + display_name(ctx) + " parent portal is now: " +
           std::string(new_login_id) + "\n" + "If this was not you, contact " +
           display_name(ctx) + " right away.\n";
  return m;
}

OutboxMessage email_changed_notice(const MessageContext& ctx, std::string_view to,
                                   std::string_view old_email, std::string_view new_email) {
  auto m = base(ctx, "email", "email_changed", to, ctx.now_us + kNoticeLifetime);
  m.subject = "The email address on your " + display_name(ctx) + " portal account was changed";
  m.body = "The email address on your " + display_name(ctx) + " parent portal account was changed from " +
           mask_email(old_email) + " to " + mask_email(new_email) + ".\n" +
           "If this was not you, contact " + display_name(ctx) + " right away.\n";
  return m;
}

}  // namespace latchkey::domain
