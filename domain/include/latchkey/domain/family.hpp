// The family aggregate (guardians and policy acceptances) and the child
// aggregate (one stream per child ID number, which makes it unique per tenant).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "latchkey/domain/events.hpp"

namespace latchkey::domain {

struct FamilyState {
  bool exists = false;
  std::string id;
  std::string name;
  std::vector<std::string> guardian_ids;
  std::set<std::pair<std::string, std::int64_t>> accepted;  // (policy id, version)

  void apply(const DomainEvent& event, Micros at);
};

struct ChildState {
  bool exists = false;
  std::string child_id;
  std::string family_id;
  std::string first_name;
  std::string last_name;

  void apply(const DomainEvent& event, Micros at);
};

// One login ID (or email) in the per-tenant registry.
struct LoginIdState {
  std::string owner;     // guardian id; empty when free
  std::string login_id;  // as last reserved

  bool is_free_for(std::string_view guardian_id) const {
    return owner.empty() || owner == guardian_id;
  }
  void apply(const DomainEvent& event, Micros at);
};

}  // namespace latchkey::domain
