#include "latchkey/domain/messages.hpp"

#include <map>

#include "flat_json.hpp"
#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/json_fields.hpp"
#include "latchkey/domain/validation.hpp"

namespace latchkey::domain {

// Every reset link and notice is encoded once (into the outbox) and decoded
// once (by the dispatcher): like event payloads, through the flat writer and
// reader when the message fits their subset, byte for byte what nlohmann
// writes and reads (tests/domain/messages_test.cpp holds them to it).
LATCHKEY_JSON_STRICT(OutboxMessage, id, tenant, sender_name, guardian_id, channel, kind, to, subject, body,
                     credential_ref, created_at_us, expires_at_us)
LATCHKEY_JSON_FLAT(OutboxMessage, id, tenant, sender_name, guardian_id, channel, kind, to, subject, body,
                   credential_ref, created_at_us, expires_at_us)
LATCHKEY_JSON_FLAT_OUT(OutboxMessage, id, tenant, sender_name, guardian_id, channel, kind, to, subject, body,
                       credential_ref, created_at_us, expires_at_us)

std::string encode_outbox_message(const OutboxMessage& message) {
  // Room for every field, its name and the body's escapes (its newlines):
  // a message that outgrew its first buffer was copied into one of over
  // 1 KiB, which made malloc consolidate its free lists on a command thread.
  const auto& m = message;
  std::string out;
  out.reserve(192 + m.id.size() + m.tenant.size() + m.sender_name.size() + m.guardian_id.size() +
              m.channel.size() + m.kind.size() + m.to.size() + m.subject.size() + m.credential_ref.size() +
              m.body.size() + m.body.size() / 8);
  if (flat_to_json(out, message)) return out;
  return nlohmann::json(message).dump();
}

namespace {
struct OutboxFileLine {
  std::string id, tenant, channel, to, subject, body, sent_at;
};
void to_json(nlohmann::json& j, const OutboxFileLine& l) {
  j = {{"id", l.id}, {"tenant", l.tenant}, {"channel", l.channel}, {"to", l.to},
       {"subject", l.subject}, {"body", l.body}, {"sent_at", l.sent_at}};
}
LATCHKEY_JSON_FLAT_OUT(OutboxFileLine, id, tenant, channel, to, subject, body, sent_at)
}  // namespace

std::string outbox_file_line(const OutboxMessage& m, Micros sent_at_us) {
  const OutboxFileLine line{m.id, m.tenant, m.channel, m.to, m.subject, m.body, format_time(sent_at_us)};
  std::string out;
  out.reserve(96 + line.id.size() + line.tenant.size() + line.channel.size() + line.to.size() + line.subject.size() +
              line.sent_at.size() + line.body.size() + line.body.size() / 8);
  if (!flat_to_json(out, line)) out = nlohmann::json(line).dump();
  out += '\n';
  return out;
}

Result<OutboxMessage> decode_outbox_message(std::string_view text) {
  if (OutboxMessage message; flat_from_json(text, message)) return message;
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return make_error("malformed_message", "outbox entry is not valid JSON");
  if (!only_int64_numbers(json)) return make_error("malformed_message", "outbox entry holds a number out of range");
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
  m.sender_name = ctx.tenant_name.empty() ? ctx.tenant_id : ctx.tenant_name;
  m.guardian_id = ctx.guardian_id;
  m.channel = std::string(channel);
  m.kind = std::string(kind);
  m.to = std::string(to);
  m.created_at_us = ctx.now_us;
  m.expires_at_us = expires_at_us;
  return m;
}

using Values = std::map<std::string, std::string>;

Values common_values(const MessageContext& ctx) {
  const std::string tenant_name = ctx.tenant_name.empty() ? ctx.tenant_id : ctx.tenant_name;
  std::string full_name = ctx.first_name;
  if (!ctx.last_name.empty()) full_name += (full_name.empty() ? "" : " ") + ctx.last_name;
  return {{"tenant_name", tenant_name},
          {"first_name", ctx.first_name.empty() ? "there" : ctx.first_name},
          {"guardian_name", full_name.empty() ? "there" : full_name},
          {"portal_url", ctx.portal_url}};
}

const MessageTemplate& template_for(const MessageContext& ctx, const std::string& key) {
  if (ctx.templates != nullptr) {
    if (auto it = ctx.templates->find(key); it != ctx.templates->end()) return it->second;
  }
  return default_template(key);
}

// Renders the kind's email template into `m`.
void render_email(OutboxMessage& m, const MessageContext& ctx, const Values& values) {
  const auto& t = template_for(ctx, m.kind + ".email");
  m.subject = render_template(t.subject, values);
  m.body = render_template(t.body, values);
}

}  // namespace

OutboxMessage reset_link_message(const MessageContext& ctx, std::string_view channel,
                                 std::string_view to, std::string_view login_id,
                                 std::string_view token, Micros expires_at_us,
                                 std::string_view reset_id) {
  auto m = base(ctx, channel, "reset_link", to, expires_at_us);
  m.credential_ref = std::string(reset_id);
  auto values = common_values(ctx);
  values["login_id"] = std::string(login_id);
  values["link"] = ctx.portal_url + "/reset?token=" + std::string(token);
  values["expires_in"] = describe_duration(expires_at_us - ctx.now_us);
  if (channel == "sms") {
    // The tenant's wording, else the default, else the link alone: whichever
    // is the first to fit in one SMS (settings keep the link itself short).
    for (const auto* text : {&template_for(ctx, "reset_link.sms").body,
                             &default_template("reset_link.sms").body}) {
      m.body = render_template(*text, values);
      if (m.body.size() <= kMaxSmsBody) return m;
    }
    m.body = "Reset your password: " + values["link"];
    return m;
  }
  render_email(m, ctx, values);
  return m;
}

OutboxMessage temporary_password_message(const MessageContext& ctx, std::string_view to,
                                         std::string_view login_id, std::string_view password,
                                         Micros expires_at_us, std::string_view password_hash) {
  auto m = base(ctx, "email", "temporary_password", to, expires_at_us);
  m.credential_ref = std::string(password_hash);
  auto values = common_values(ctx);
  values["login_id"] = std::string(login_id);
  values["temporary_password"] = std::string(password);
  values["login_url"] = ctx.portal_url + "/login";
  values["expires_in"] = describe_duration(expires_at_us - ctx.now_us);
  render_email(m, ctx, values);
  return m;
}

OutboxMessage password_changed_notice(const MessageContext& ctx, std::string_view to) {
  auto m = base(ctx, "email", "password_changed", to, ctx.now_us + kNoticeLifetime);
  render_email(m, ctx, common_values(ctx));
  return m;
}

OutboxMessage login_id_changed_notice(const MessageContext& ctx, std::string_view to,
                                      std::string_view new_login_id) {
  auto m = base(ctx, "email", "login_id_changed", to, ctx.now_us + kNoticeLifetime);
  auto values = common_values(ctx);
  values["new_login_id"] = std::string(new_login_id);
  render_email(m, ctx, values);
  return m;
}

OutboxMessage email_changed_notice(const MessageContext& ctx, std::string_view to,
                                   std::string_view old_email, std::string_view new_email) {
  auto m = base(ctx, "email", "email_changed", to, ctx.now_us + kNoticeLifetime);
  auto values = common_values(ctx);
  values["old_email"] = mask_email(old_email);
  values["new_email"] = mask_email(new_email);
  render_email(m, ctx, values);
  return m;
}

bool still_current(const GuardianState& g, const OutboxMessage& m, Micros now) {
  if (m.kind == "reset_link") {
    if (!g.exists || !g.can_log_in || m.credential_ref.empty()) return false;
    const ResetRecord* pending = g.pending_reset(now);
    return pending != nullptr && pending->reset_id == m.credential_ref;
  }
  if (m.kind == "temporary_password") {
    if (!g.exists || !g.can_log_in || m.credential_ref.empty()) return false;
    return g.temporary_password_hash == m.credential_ref && g.temporary_password_expires_at_us > now;
  }
  return true;
}

}  // namespace latchkey::domain
