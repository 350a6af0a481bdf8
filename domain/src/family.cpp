#include "latchkey/domain/family.hpp"

#include <algorithm>

namespace latchkey::domain {

void FamilyState::apply(const DomainEvent& event, Micros /*at*/) {
  std::visit(
      [this](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, FamilyRegistered>) {
          exists = true;
          id = e.family_id;
          name = e.name;
        } else if constexpr (std::is_same_v<E, GuardianLinked>) {
          if (std::find(guardian_ids.begin(), guardian_ids.end(), e.guardian_id) == guardian_ids.end()) {
            guardian_ids.push_back(e.guardian_id);
          }
        } else if constexpr (std::is_same_v<E, PolicyAccepted> ||
                             std::is_same_v<E, PolicyManuallyAccepted>) {
          accepted.emplace(e.policy_id, e.version);
        }
      },
      event);
}

void ChildState::apply(const DomainEvent& event, Micros /*at*/) {
  if (const auto* e = std::get_if<ChildAdded>(&event)) {
    exists = true;
    child_id = e->child_id;
    family_id = e->family_id;
    first_name = e->first_name;
    last_name = e->last_name;
  }
}

void LoginIdState::apply(const DomainEvent& event, Micros /*at*/) {
  if (const auto* e = std::get_if<LoginIdReserved>(&event)) {
    owner = e->guardian_id;
    login_id = e->login_id;
  } else if (const auto* r = std::get_if<LoginIdReleased>(&event)) {
    if (owner == r->guardian_id) owner.clear();
  }
}

}  // namespace latchkey::domain
