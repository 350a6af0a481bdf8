#include "rows.hpp"

#include "row_json.hpp"

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/json_fields.hpp"
#include "latchkey/projections/read_model_db.hpp"

// read_json: strict, as from_json, on text that parses.
#define LATCHKEY_ROW_READ(Type)                                         \
  bool read_json(std::string_view text, Type& v) {                      \
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false); \
    try {                                                               \
      v = j.get<Type>();                                                \
      return true;                                                      \
    } catch (const nlohmann::json::exception&) {                        \
      return false;                                                     \
    }                                                                   \
  }
#define LATCHKEY_ROW(Type, ...)                \
  LATCHKEY_JSON_STRICT(Type, __VA_ARGS__)      \
  LATCHKEY_ROW_JSON(Type, __VA_ARGS__)         \
  LATCHKEY_ROW_READ(Type)

namespace latchkey::domain {
LATCHKEY_ROW(Session, token_hash, expires_at_us, must_change_password)
LATCHKEY_ROW(ResetRecord, reset_id, token_hash, channel, expires_at_us, status, wrong_answers)
LATCHKEY_ROW(GuardianState, exists, id, family_id, first_name, last_name, email, phone, can_log_in,
                     custom_login_id, has_logged_in, password_hash, temporary_password_hash,
                     temporary_password_expires_at_us, must_change_password, reset_required, security_question,
                     security_answer_hash, last_login_us, login_count, failed_login_count, locked_until_us, resets,
                     reset_requests_sent_us, sessions)
LATCHKEY_ROW(ApiKeyRecord, key_id, name, role, key_hash, revoked)
LATCHKEY_ROW(PolicyRecord, policy_id, title, versions)
LATCHKEY_ROW(TenantState, exists, id, name, settings, sms_balance, api_keys, policies)
}  // namespace latchkey::domain

namespace latchkey::projections {

LATCHKEY_ROW(ChildRow, child_id, first_name, last_name)
LATCHKEY_ROW(FamilyRow, id, name, guardian_ids, children)
LATCHKEY_ROW(GuardianNameRow, family_id, first_name, last_name)
LATCHKEY_ROW(GuardianSessionsRow, sessions)
LATCHKEY_ROW(SmsBalanceRow, balance)
LATCHKEY_ROW_JSON(SessionInfo, tenant, guardian_id, session_id, expires_at_us, must_change_password)
LATCHKEY_ROW_JSON(ActorRow, kind, id, name)
LATCHKEY_ROW_JSON(AcceptanceRow, family_id, policy_id, version, method, accepted_by, reason, at, position)
LATCHKEY_ROW_JSON(SmsLedgerRow, position, at, change, balance, reason, guardian_id, actor)

namespace keys {

std::string name_index(std::string_view t, std::string_view last, std::string_view first, std::string_view g) {
  std::string k = name_index_prefix(t) + domain::ascii_lower(last);
  k += '\0';
  k += domain::ascii_lower(first);
  k += '\0';
  k += g;
  return k;
}

std::string acceptance_prefix(std::string_view t, std::string_view p) {
  return "policy_acceptances/a/" + std::string(t) + "/" + std::string(p) + '\0';
}

std::string acceptance(std::string_view t, std::string_view p, std::int64_t version, std::string_view f) {
  return acceptance_prefix(t, p) + be64(static_cast<std::uint64_t>(version)) + std::string(f);
}

std::string family_acceptance(std::string_view t, std::string_view f, std::string_view p, std::int64_t version) {
  return family_acceptance_prefix(t, f) + std::string(p) + '\0' + be64(static_cast<std::uint64_t>(version));
}

}  // namespace keys
}  // namespace latchkey::projections
