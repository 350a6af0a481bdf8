#include "latchkey/domain/events.hpp"

#include <unordered_map>
#include <utility>

#include "latchkey/domain/json_fields.hpp"

namespace latchkey::domain {

LATCHKEY_JSON_STRICT(PlatformKeyIssued, key_id, key_hash)
LATCHKEY_JSON_STRICT(TenantCreated, tenant_id, name, settings)
LATCHKEY_JSON_STRICT(TenantConfigured, settings, changed)
LATCHKEY_JSON_STRICT(SmsCreditsAdded, amount, balance)
LATCHKEY_JSON_STRICT(SmsCreditSpent, guardian_id, reset_id, balance)
LATCHKEY_JSON_STRICT(ApiKeyIssued, key_id, name, role, key_hash)
LATCHKEY_JSON_STRICT(ApiKeyRevoked, key_id)
LATCHKEY_JSON_STRICT(PolicyPublished, policy_id, title, version, text_sha256)
LATCHKEY_JSON_STRICT(FamilyRegistered, family_id, name)
LATCHKEY_JSON_STRICT(GuardianLinked, family_id, guardian_id)
LATCHKEY_JSON_STRICT(ChildAdded, child_id, family_id, first_name, last_name)
LATCHKEY_JSON_STRICT(PolicyAccepted, family_id, policy_id, version, guardian_id)
LATCHKEY_JSON_STRICT(PolicyManuallyAccepted, family_id, policy_id, version, staff_key_id,
                     staff_name, reason)
LATCHKEY_JSON_STRICT(LoginIdReserved, login_id, guardian_id)
LATCHKEY_JSON_STRICT(LoginIdReleased, login_id, guardian_id)
LATCHKEY_JSON_STRICT(GuardianAdded, guardian_id, family_id, first_name, last_name, email, phone,
                     can_log_in)
LATCHKEY_JSON_STRICT(GuardianContactUpdated, guardian_id, first_name, last_name, email, phone,
                     previous_email, changed)
LATCHKEY_JSON_STRICT(LoginPermissionChanged, guardian_id, can_log_in, revoked_sessions)
LATCHKEY_JSON_STRICT(PortalAccountRegistered, guardian_id, login_id, password_hash)
LATCHKEY_JSON_STRICT(LoginSucceeded, guardian_id, session_id, token_hash, expires_at_us, login_id,
                     first_login, via, must_change_password, login_count)
LATCHKEY_JSON_STRICT(LoginFailed, guardian_id, reason, failed_count)
LATCHKEY_JSON_STRICT(AccountLockedOut, guardian_id, locked_until_us, failures)
LATCHKEY_JSON_STRICT(SessionEnded, guardian_id, session_id, reason)
LATCHKEY_JSON_STRICT(PasswordChanged, guardian_id, password_hash, reason, kept_session_id,
                     revoked_sessions)
LATCHKEY_JSON_STRICT(PasswordRehashed, guardian_id, password_hash)
LATCHKEY_JSON_STRICT(ResetRequested, guardian_id, reset_id, channel, recipient, token_hash,
                     expires_at_us, requested_by)
LATCHKEY_JSON_STRICT(ResetRequestThrottled, guardian_id, channel, requested_by,
                     requests_in_last_hour)
LATCHKEY_JSON_STRICT(ResetTokenRedeemed, guardian_id, reset_id)
LATCHKEY_JSON_STRICT(ResetTokenRejected, guardian_id, reset_id, reason)
LATCHKEY_JSON_STRICT(TemporaryPasswordIssued, guardian_id, password_hash, expires_at_us, recipient,
                     trigger, revoked_sessions)
LATCHKEY_JSON_STRICT(LoginIdChanged, guardian_id, previous_login_id, login_id)
LATCHKEY_JSON_STRICT(SecurityQuestionSet, guardian_id, question, answer_hash)
LATCHKEY_JSON_STRICT(PortalLoginReset, guardian_id, released_login_id, revoked_sessions)
LATCHKEY_JSON_STRICT(AccountClaimed, guardian_id, login_id, child_id)
LATCHKEY_JSON_STRICT(AccountClaimRejected, child_id, guardian_id, reason)
LATCHKEY_JSON_STRICT(NotificationSent, message_id, guardian_id, channel, kind, recipient)
LATCHKEY_JSON_STRICT(NotificationFailed, message_id, guardian_id, channel, kind, recipient, error,
                     attempts, final)

namespace {

using Decoder = DomainEvent (*)(const nlohmann::json&);

template <std::size_t... I>
std::unordered_map<std::string_view, Decoder> make_decoders(std::index_sequence<I...>) {
  std::unordered_map<std::string_view, Decoder> table;
  (table.emplace(std::variant_alternative_t<I, DomainEvent>::kType,
                 [](const nlohmann::json& j) -> DomainEvent {
                   return j.get<std::variant_alternative_t<I, DomainEvent>>();
                 }),
   ...);
  return table;
}

const std::unordered_map<std::string_view, Decoder>& decoders() {
  static const auto table =
      make_decoders(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
  return table;
}

template <std::size_t... I>
std::vector<std::string_view> type_names(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, DomainEvent>::kType...};
}

Error malformed(std::string message) { return make_error("malformed_event", std::move(message)); }

}  // namespace

std::string_view event_type(const DomainEvent& event) {
  return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kType; }, event);
}

std::string encode_payload(const DomainEvent& event) {
  return std::visit([](const auto& e) { return nlohmann::json(e).dump(); }, event);
}

Result<DomainEvent> decode_event(std::string_view type, std::uint32_t schema_version,
                                 std::string_view payload) {
  const auto& table = decoders();
  auto it = table.find(type);
  if (it == table.end()) return malformed("unknown event type " + std::string(type));
  if (schema_version != kSchemaVersion) {
    return malformed("unknown schema version " + std::to_string(schema_version) + " of " +
                     std::string(type));
  }
  auto json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return malformed(std::string(type) + " payload is not valid JSON");
  if (!only_int64_numbers(json)) return malformed(std::string(type) + " payload holds a number out of range");
  try {
    return it->second(json);
  } catch (const nlohmann::json::exception& e) {
    return malformed(std::string(type) + " payload does not decode: " + e.what());
  }
}

std::vector<std::string_view> all_event_types() {
  return type_names(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
}

}  // namespace latchkey::domain
