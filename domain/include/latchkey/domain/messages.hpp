// Messages to guardians, written to the transactional outbox (SPEC §4, §7).
//
// A message is rendered when its command decides, so that the plain token or
// temporary password exists only here, in the outbox entry written in the
// same atomic write as the event, and never in the immutable log. The
// dispatcher delivers it and deletes it; an entry still undelivered at
// expires_at_us is dropped.
#pragma once

#include <string>
#include <string_view>

#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/ports.hpp"
#include "latchkey/domain/templates.hpp"
#include "latchkey/result.hpp"

namespace latchkey::domain {

struct OutboxMessage {
  std::string id;
  std::string tenant;
  std::string sender_name;  // the tenant's name, for the From header
  std::string guardian_id;
  std::string channel;  // email, sms
  std::string kind;     // reset_link, temporary_password, password_changed, login_id_changed, email_changed
  std::string to;
  std::string subject;  // empty for SMS
  std::string body;
  // Which credential the message carries, so that one superseded before
  // delivery is dropped: the reset id of a reset link, the hash of a
  // temporary password; empty for notices.
  std::string credential_ref;
  Micros created_at_us = 0;
  Micros expires_at_us = 0;

  friend bool operator==(const OutboxMessage&, const OutboxMessage&) = default;
};

std::string encode_outbox_message(const OutboxMessage& message);
// The line the file transport writes for a delivered message: a JSON object
// (id, tenant, channel, to, subject, body, sent_at) and a newline.
std::string outbox_file_line(const OutboxMessage& message, Micros sent_at_us);
Result<OutboxMessage> decode_outbox_message(std::string_view text);

// What every message needs to know about where it is sent from.
struct MessageContext {
  std::string message_id;
  std::string tenant_id;
  std::string tenant_name;
  std::string portal_url;
  std::string guardian_id;
  Micros now_us = 0;
  std::string first_name;
  std::string last_name;
  // The tenant's overrides; null or missing keys use the built-in wording.
  const MessageTemplates* templates = nullptr;
};

inline constexpr std::size_t kMaxSmsBody = 159;
// How long notices (which hold no secret) may wait for delivery.
inline constexpr Micros kNoticeLifetime = 7 * 24 * 3600 * kMicrosPerSecond;

// "Forgot your password?": the link {portal_url}/reset?token=… and the
// guardian's User ID. By SMS the body stays under 160 characters.
// `reset_id` identifies the credential (OutboxMessage::credential_ref).
OutboxMessage reset_link_message(const MessageContext& ctx, std::string_view channel,
                                 std::string_view to, std::string_view login_id,
                                 std::string_view token, Micros expires_at_us,
                                 std::string_view reset_id = {});
// "Temporary password: …" on its own line and the link {portal_url}/login.
// `password_hash` identifies the credential (OutboxMessage::credential_ref).
OutboxMessage temporary_password_message(const MessageContext& ctx, std::string_view to,
                                         std::string_view login_id, std::string_view password,
                                         Micros expires_at_us, std::string_view password_hash = {});
OutboxMessage password_changed_notice(const MessageContext& ctx, std::string_view to);
OutboxMessage login_id_changed_notice(const MessageContext& ctx, std::string_view to,
                                      std::string_view new_login_id);
OutboxMessage email_changed_notice(const MessageContext& ctx, std::string_view to,
                                   std::string_view old_email, std::string_view new_email);

// Whether a message may still be delivered to this guardian: a reset link
// only while its reset is pending, a temporary password only while it is the
// one in force, and nothing secret to a guardian who may no longer log in.
// Notices always may (until their expiry).
bool still_current(const GuardianState& guardian, const OutboxMessage& message, Micros now);

// "30 minutes", "24 hours", "3 days".
std::string describe_duration(Micros duration);

}  // namespace latchkey::domain
