#include "latchkey/domain/tenant.hpp"

#include <algorithm>

namespace latchkey::domain {

bool is_role(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles);
}

void TenantState::apply(const DomainEvent& event, Micros /*at*/) {
  std::visit(
      [this](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, TenantCreated>) {
          exists = true;
          id = e.tenant_id;
          name = e.name;
          settings = e.settings;
        } else if constexpr (std::is_same_v<E, TenantConfigured>) {
          settings = e.settings;
        } else if constexpr (std::is_same_v<E, SmsCreditsAdded> || std::is_same_v<E, SmsCreditSpent>) {
          sms_balance = e.balance;
        } else if constexpr (std::is_same_v<E, ApiKeyIssued>) {
          api_keys[e.key_id] = ApiKeyRecord{e.key_id, e.name, e.role, e.key_hash, false};
        } else if constexpr (std::is_same_v<E, ApiKeyRevoked>) {
          if (auto it = api_keys.find(e.key_id); it != api_keys.end()) it->second.revoked = true;
        } else if constexpr (std::is_same_v<E, PolicyPublished>) {
          auto& p = policies[e.policy_id];
          p.policy_id = e.policy_id;
          p.title = e.title;
          p.versions[e.version] = e.text_sha256;
        }
      },
      event);
}

}  // namespace latchkey::domain
