// The JSON shapes of the rows the projections keep. Some rows are the
// domain's own folds (a guardian's login state is exactly the write model's
// view of the guardian), so that both sides read history the same way.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "latchkey/domain/family.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/tenant.hpp"

namespace latchkey::domain {
void to_json(nlohmann::json& j, const Session& v);
void from_json(const nlohmann::json& j, Session& v);
void to_json(nlohmann::json& j, const ResetRecord& v);
void from_json(const nlohmann::json& j, ResetRecord& v);
void to_json(nlohmann::json& j, const GuardianState& v);
void from_json(const nlohmann::json& j, GuardianState& v);
void to_json(nlohmann::json& j, const ApiKeyRecord& v);
void from_json(const nlohmann::json& j, ApiKeyRecord& v);
void to_json(nlohmann::json& j, const PolicyRecord& v);
void from_json(const nlohmann::json& j, PolicyRecord& v);
void to_json(nlohmann::json& j, const TenantState& v);
void from_json(const nlohmann::json& j, TenantState& v);
}  // namespace latchkey::domain

namespace latchkey::projections {

struct ChildRow {
  std::string child_id;
  std::string first_name;
  std::string last_name;
};
struct FamilyRow {
  std::string id;
  std::string name;
  std::vector<std::string> guardian_ids;
  std::vector<ChildRow> children;
};
// What the directory index needs to move a guardian's entry when the name changes.
struct GuardianNameRow {
  std::string family_id;
  std::string first_name;
  std::string last_name;
};
struct GuardianSessionsRow {
  std::map<std::string, domain::Session> sessions;  // by session id
};
struct SmsBalanceRow {
  std::int64_t balance = 0;
};

void to_json(nlohmann::json& j, const ChildRow& v);
void from_json(const nlohmann::json& j, ChildRow& v);
void to_json(nlohmann::json& j, const FamilyRow& v);
void from_json(const nlohmann::json& j, FamilyRow& v);
void to_json(nlohmann::json& j, const GuardianNameRow& v);
void from_json(const nlohmann::json& j, GuardianNameRow& v);
void to_json(nlohmann::json& j, const GuardianSessionsRow& v);
void from_json(const nlohmann::json& j, GuardianSessionsRow& v);
void to_json(nlohmann::json& j, const SmsBalanceRow& v);
void from_json(const nlohmann::json& j, SmsBalanceRow& v);

// Key layout, one prefix per projection (its name).
namespace keys {
inline std::string guardian(std::string_view t, std::string_view g) {
  return "login_state/" + std::string(t) + "/" + std::string(g);
}
inline std::string tenant(std::string_view t) { return "tenants/" + std::string(t); }
inline std::string family(std::string_view t, std::string_view f) {
  return "directory/f/" + std::string(t) + "/" + std::string(f);
}
inline std::string guardian_name(std::string_view t, std::string_view g) {
  return "directory/g/" + std::string(t) + "/" + std::string(g);
}
inline std::string name_index_prefix(std::string_view t) { return "directory/n/" + std::string(t) + "/"; }
std::string name_index(std::string_view t, std::string_view last, std::string_view first, std::string_view g);
inline std::string session(std::string_view token_hash) { return "sessions/t/" + std::string(token_hash); }
inline std::string guardian_sessions(std::string_view t, std::string_view g) {
  return "sessions/g/" + std::string(t) + "/" + std::string(g);
}
inline std::string sms_balance(std::string_view t) { return "sms_credits/b/" + std::string(t); }
inline std::string sms_ledger_prefix(std::string_view t) { return "sms_credits/l/" + std::string(t) + "/"; }
inline std::string policy_prefix(std::string_view t) { return "policy_acceptances/p/" + std::string(t) + "/"; }
inline std::string policy(std::string_view t, std::string_view p) { return policy_prefix(t) + std::string(p); }
std::string acceptance_prefix(std::string_view t, std::string_view p);
std::string acceptance(std::string_view t, std::string_view p, std::int64_t version, std::string_view f);
inline std::string family_acceptance_prefix(std::string_view t, std::string_view f) {
  return "policy_acceptances/f/" + std::string(t) + "/" + std::string(f) + "/";
}
std::string family_acceptance(std::string_view t, std::string_view f, std::string_view p, std::int64_t version);
inline std::string audit_prefix(std::string_view t) { return "audit/e/" + std::string(t) + "/"; }
inline std::string audit_subject_prefix(std::string_view t, std::string_view subject) {
  return "audit/s/" + std::string(t) + "/" + std::string(subject) + '\0';
}
inline std::string audit_actor_prefix(std::string_view t, std::string_view actor) {
  return "audit/a/" + std::string(t) + "/" + std::string(actor) + '\0';
}
}  // namespace keys

}  // namespace latchkey::projections
