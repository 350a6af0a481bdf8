// The JSON shapes of the rows the projections keep. Some rows are the
// domain's own folds (a guardian's login state is exactly the write model's
// view of the guardian), so that both sides read history the same way.
//
// Each row type has to_json/from_json (nlohmann, for the read models'
// answers) and the pair Rows<T> uses: write_json, which writes the row's text
// without a JSON document (row_json.hpp), and read_json, which reads it back
// strictly (false when it does not decode).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "latchkey/domain/family.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/tenant.hpp"
#include "latchkey/projections/read_models.hpp"

#define LATCHKEY_ROW_CODEC(Type)                          \
  void to_json(nlohmann::json& j, const Type& v);         \
  void from_json(const nlohmann::json& j, Type& v);       \
  void write_json(std::string& out, const Type& v);       \
  bool read_json(std::string_view text, Type& v);

namespace latchkey::domain {
LATCHKEY_ROW_CODEC(Session)
LATCHKEY_ROW_CODEC(ResetRecord)
LATCHKEY_ROW_CODEC(GuardianState)
LATCHKEY_ROW_CODEC(ApiKeyRecord)
LATCHKEY_ROW_CODEC(PolicyRecord)
LATCHKEY_ROW_CODEC(TenantState)
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

// Who did something: a guardian, a staff member (by API key), the platform.
struct ActorRow {
  std::string kind;
  std::string id;
  std::string name;
};
// One acceptance of a policy version for a family.
struct AcceptanceRow {
  std::string family_id;
  std::string policy_id;
  std::int64_t version = 0;
  std::string method;  // "electronic" | "manual"
  ActorRow accepted_by;
  std::optional<std::string> reason;  // manual acceptances only
  std::string at;
  std::uint64_t position = 0;
};
// One change of a tenant's SMS credits.
struct SmsLedgerRow {
  std::uint64_t position = 0;
  std::string at;
  std::int64_t change = 0;
  std::int64_t balance = 0;
  std::string reason;                      // "credits_added" | "reset_link_sms"
  std::optional<std::string> guardian_id;  // the guardian a spent credit texted
  ActorRow actor;
};

LATCHKEY_ROW_CODEC(ChildRow)
LATCHKEY_ROW_CODEC(FamilyRow)
LATCHKEY_ROW_CODEC(GuardianNameRow)
LATCHKEY_ROW_CODEC(GuardianSessionsRow)
LATCHKEY_ROW_CODEC(SmsBalanceRow)
// Written only (the read models answer them as they are stored).
void write_json(std::string& out, const SessionInfo& v);  // the session index's row, under its token hash
void write_json(std::string& out, const ActorRow& v);
void write_json(std::string& out, const AcceptanceRow& v);
void write_json(std::string& out, const SmsLedgerRow& v);

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
// The audit log's three indexes: every event of a tenant ('e'), by subject
// ('s') and by actor ('a'). Each holds runs of positions: a key ends in its
// run's first position (big-endian), its value is the run's gaps (see
// audit_runs below). Written into `out` (replacing what it held): the
// projection builds three keys an event in one buffer.
inline void audit_prefix_into(std::string& out, char index, std::string_view t,
                              std::string_view name = {}) {
  out.assign("audit/");
  out += index;
  out += '/';
  out.append(t);
  out += '/';
  if (index == 'e') return;
  out.append(name);
  out += '\0';
}
inline std::string audit_prefix(std::string_view t) {
  std::string k;
  audit_prefix_into(k, 'e', t);
  return k;
}
inline std::string audit_subject_prefix(std::string_view t, std::string_view subject) {
  std::string k;
  audit_prefix_into(k, 's', t, subject);
  return k;
}
inline std::string audit_actor_prefix(std::string_view t, std::string_view actor) {
  std::string k;
  audit_prefix_into(k, 'a', t, actor);
  return k;
}
}  // namespace keys

// A run of positions, as an audit index stores it: the first position in the
// key, then each next one as its gap from the one before (a LEB128 varint,
// never 0) in the value. An empty value is a run of one.
namespace audit_runs {
inline void append_gap(std::string& out, std::uint64_t gap) {
  while (gap >= 0x80) {
    out += static_cast<char>((gap & 0x7f) | 0x80);
    gap >>= 7;
  }
  out += static_cast<char>(gap);
}
// Calls visit(position) for each position of the run, in order, while it
// returns true. False when the gaps do not decode (a truncated varint, a gap
// of 0, a position past 2^64).
template <class Visit>
bool for_each_position(std::uint64_t first, std::string_view gaps, Visit&& visit) {
  std::uint64_t position = first;
  if (!visit(position)) return true;
  std::size_t i = 0;
  while (i < gaps.size()) {
    std::uint64_t gap = 0;
    for (int shift = 0;; shift += 7) {
      if (i == gaps.size() || shift > 63) return false;
      const auto byte = static_cast<unsigned char>(gaps[i++]);
      gap |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (gap == 0 || position > ~std::uint64_t{0} - gap) return false;
    position += gap;
    if (!visit(position)) return true;
  }
  return true;
}
}  // namespace audit_runs

}  // namespace latchkey::projections
