#include "latchkey/domain/events.hpp"

#include <unordered_map>
#include <utility>

#include "flat_json.hpp"
#include "latchkey/domain/json_fields.hpp"

namespace latchkey::domain {

// Each payload type: nlohmann's strict encoding and the flat fast paths.
#define LATCHKEY_EVENT_JSON(Type, ...)    \
  LATCHKEY_JSON_STRICT(Type, __VA_ARGS__) \
  LATCHKEY_JSON_FLAT(Type, __VA_ARGS__)   \
  LATCHKEY_JSON_FLAT_OUT(Type, __VA_ARGS__)

LATCHKEY_EVENT_JSON(PlatformKeyIssued, key_id, key_hash)
LATCHKEY_EVENT_JSON(TenantCreated, tenant_id, name, settings)
LATCHKEY_EVENT_JSON(TenantConfigured, settings, changed)
LATCHKEY_EVENT_JSON(SmsCreditsAdded, amount, balance)
LATCHKEY_EVENT_JSON(SmsCreditSpent, guardian_id, reset_id, balance)
LATCHKEY_EVENT_JSON(ApiKeyIssued, key_id, name, role, key_hash)
LATCHKEY_EVENT_JSON(ApiKeyRevoked, key_id)
LATCHKEY_EVENT_JSON(PolicyPublished, policy_id, title, version, text_sha256)
LATCHKEY_EVENT_JSON(FamilyRegistered, family_id, name)
LATCHKEY_EVENT_JSON(GuardianLinked, family_id, guardian_id)
LATCHKEY_EVENT_JSON(ChildAdded, child_id, family_id, first_name, last_name)
LATCHKEY_EVENT_JSON(PolicyAccepted, family_id, policy_id, version, guardian_id)
LATCHKEY_EVENT_JSON(PolicyManuallyAccepted, family_id, policy_id, version, staff_key_id,
                     staff_name, reason)
LATCHKEY_EVENT_JSON(LoginIdReserved, login_id, guardian_id)
LATCHKEY_EVENT_JSON(LoginIdReleased, login_id, guardian_id)
LATCHKEY_EVENT_JSON(GuardianAdded, guardian_id, family_id, first_name, last_name, email, phone,
                     can_log_in)
LATCHKEY_EVENT_JSON(GuardianContactUpdated, guardian_id, first_name, last_name, email, phone,
                     previous_email, changed)
LATCHKEY_EVENT_JSON(LoginPermissionChanged, guardian_id, can_log_in, revoked_sessions)
LATCHKEY_EVENT_JSON(PortalAccountRegistered, guardian_id, login_id, password_hash)
LATCHKEY_EVENT_JSON(LoginSucceeded, guardian_id, session_id, token_hash, expires_at_us, login_id,
                     first_login, via, must_change_password, login_count)
LATCHKEY_EVENT_JSON(LoginFailed, guardian_id, reason, failed_count)
LATCHKEY_EVENT_JSON(AccountLockedOut, guardian_id, locked_until_us, failures)
LATCHKEY_EVENT_JSON(SessionEnded, guardian_id, session_id, reason)
LATCHKEY_EVENT_JSON(PasswordChanged, guardian_id, password_hash, reason, kept_session_id,
                     revoked_sessions)
LATCHKEY_EVENT_JSON(PasswordRehashed, guardian_id, password_hash)
LATCHKEY_EVENT_JSON(ResetRequested, guardian_id, reset_id, channel, recipient, token_hash,
                     expires_at_us, requested_by)
LATCHKEY_EVENT_JSON(ResetRequestThrottled, guardian_id, channel, requested_by,
                     requests_in_last_hour)
LATCHKEY_EVENT_JSON(ResetTokenRedeemed, guardian_id, reset_id)
LATCHKEY_EVENT_JSON(ResetTokenRejected, guardian_id, reset_id, reason)
LATCHKEY_EVENT_JSON(TemporaryPasswordIssued, guardian_id, password_hash, expires_at_us, recipient,
                     trigger, revoked_sessions)
LATCHKEY_EVENT_JSON(LoginIdChanged, guardian_id, previous_login_id, login_id)
LATCHKEY_EVENT_JSON(SecurityQuestionSet, guardian_id, question, answer_hash)
LATCHKEY_EVENT_JSON(PortalLoginReset, guardian_id, released_login_id, revoked_sessions)
LATCHKEY_EVENT_JSON(AccountClaimed, guardian_id, login_id, child_id)
LATCHKEY_EVENT_JSON(AccountClaimRejected, child_id, guardian_id, reason)
LATCHKEY_EVENT_JSON(NotificationSent, message_id, guardian_id, channel, kind, recipient)
LATCHKEY_EVENT_JSON(NotificationFailed, message_id, guardian_id, channel, kind, recipient, error,
                     attempts, final)

namespace {

struct Decoder {
  DomainEvent (*from_dom)(const nlohmann::json&);
  bool (*from_flat)(std::string_view, DomainEvent&);
};

template <class E>
bool flat_decode(std::string_view text, DomainEvent& out) {
  E event;
  if (!flat_from_json(text, event)) return false;
  out = std::move(event);
  return true;
}

template <std::size_t... I>
std::unordered_map<std::string_view, Decoder> make_decoders(std::index_sequence<I...>) {
  std::unordered_map<std::string_view, Decoder> table;
  (table.emplace(std::variant_alternative_t<I, DomainEvent>::kType,
                 Decoder{[](const nlohmann::json& j) -> DomainEvent {
                           return j.get<std::variant_alternative_t<I, DomainEvent>>();
                         },
                         &flat_decode<std::variant_alternative_t<I, DomainEvent>>}),
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
  return std::visit(
      [](const auto& e) {
        std::string out;
        out.reserve(256);
        if (flat_to_json(out, e)) return out;
        return nlohmann::json(e).dump();
      },
      event);
}

std::string encode_payload_reference(const DomainEvent& event) {
  return std::visit([](const auto& e) { return nlohmann::json(e).dump(); }, event);
}

namespace {

Result<DomainEvent> decode(std::string_view type, std::uint32_t schema_version, std::string_view payload,
                           bool flat) {
  const auto& table = decoders();
  auto it = table.find(type);
  if (it == table.end()) return malformed("unknown event type " + std::string(type));
  if (schema_version != kSchemaVersion) {
    return malformed("unknown schema version " + std::to_string(schema_version) + " of " +
                     std::string(type));
  }
  if (flat) {
    DomainEvent event;
    if (it->second.from_flat(payload, event)) return event;
  }
  auto json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return malformed(std::string(type) + " payload is not valid JSON");
  if (!only_int64_numbers(json)) return malformed(std::string(type) + " payload holds a number out of range");
  try {
    return it->second.from_dom(json);
  } catch (const nlohmann::json::exception& e) {
    return malformed(std::string(type) + " payload does not decode: " + e.what());
  }
}

}  // namespace

Result<DomainEvent> decode_event(std::string_view type, std::uint32_t schema_version,
                                 std::string_view payload) {
  return decode(type, schema_version, payload, /*flat=*/true);
}

Result<DomainEvent> decode_event_reference(std::string_view type, std::uint32_t schema_version,
                                           std::string_view payload) {
  return decode(type, schema_version, payload, /*flat=*/false);
}

std::optional<DomainEvent> decode_event_flat(std::string_view type, std::string_view payload) {
  const auto& table = decoders();
  auto it = table.find(type);
  DomainEvent event;
  if (it == table.end() || !it->second.from_flat(payload, event)) return std::nullopt;
  return event;
}

std::vector<std::string_view> all_event_types() {
  return type_names(std::make_index_sequence<std::variant_size_v<DomainEvent>>{});
}

}  // namespace latchkey::domain
