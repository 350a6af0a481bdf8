// The tenant aggregate: settings, SMS credits, API keys and policies.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "latchkey/domain/events.hpp"

namespace latchkey::domain {

struct ApiKeyRecord {
  std::string key_id;
  std::string name;
  std::string role;
  std::string key_hash;
  bool revoked = false;
};

struct PolicyRecord {
  std::string policy_id;
  std::string title;
  std::map<std::int64_t, std::string> versions;  // version → text SHA-256
  std::int64_t latest_version() const { return versions.empty() ? 0 : versions.rbegin()->first; }
};

struct TenantState {
  bool exists = false;
  std::string id;
  std::string name;
  TenantSettings settings;
  std::int64_t sms_balance = 0;
  std::map<std::string, ApiKeyRecord> api_keys;  // by key id
  std::map<std::string, PolicyRecord> policies;  // by policy id

  void apply(const DomainEvent& event, Micros at);
};

inline constexpr std::string_view kRoles[] = {"admin", "staff", "registrar", "auditor"};
bool is_role(std::string_view role);

}  // namespace latchkey::domain
