// Loading helpers and small rules shared by the handlers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "latchkey/commands/commands.hpp"
#include "latchkey/domain/family.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/password_policy.hpp"
#include "latchkey/domain/streams.hpp"
#include "latchkey/domain/tenant.hpp"
#include "latchkey/domain/validation.hpp"
#include "write_path.hpp"

namespace latchkey::commands {

namespace streams = domain::streams;

// Each refuses with not_found when the aggregate does not exist.
Result<Loaded<domain::TenantState>> load_tenant(WriteModels& models, std::string_view tenant);
Result<Loaded<domain::FamilyState>> load_family(WriteModels& models, std::string_view tenant,
                                                std::string_view family_id);
Result<Loaded<domain::GuardianState>> load_guardian(WriteModels& models,
                                                    std::string_view tenant,
                                                    std::string_view guardian_id);

// A guardian reached through an authenticated session.
struct SessionGuardian {
  Loaded<domain::GuardianState> guardian;
  std::string session_id;
  bool must_change_password = false;
};
// Refuses with session_invalid for a malformed, unknown, ended or expired token.
Result<SessionGuardian> load_session_guardian(WriteModels& models, Ports& ports,
                                              std::string_view tenant, std::string_view token);

// The password_policy refusal, naming every unmet rule.
Error password_policy_refusal(std::vector<std::string> unmet);
// Checks a new password against the tenant's policy and the guardian's identifiers.
std::optional<Error> check_new_password(const domain::TenantSettings& settings,
                                        const domain::GuardianState& guardian,
                                        std::string_view login_id, std::string_view password);

// A fresh secret with a locator: "<id>.<43 characters>" (256 random bits).
std::string make_located_token(Ports& ports, std::string_view id);

// Security answers are compared case- and space-insensitively.
std::string normalise_security_answer(std::string_view answer);

std::optional<Error> check_contact(const GuardianContact& contact);

// Refuses credentials for a guardian who may not log in (login_not_allowed)
// or whose portal login was reset and must be claimed (account_reset_required).
std::optional<Error> check_may_receive_credentials(const domain::GuardianState& guardian);

}  // namespace latchkey::commands
