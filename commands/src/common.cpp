#include "common.hpp"

#include <algorithm>

#include "latchkey/domain/encoding.hpp"

namespace latchkey::commands {

Result<Loaded<domain::TenantState>> load_tenant(WriteModels& models, std::string_view tenant) {
  auto loaded = models.load<domain::TenantState>(streams::tenant(tenant));
  if (loaded && !loaded->state().exists) return not_found("tenant");
  return loaded;
}

Result<Loaded<domain::FamilyState>> load_family(WriteModels& models, std::string_view tenant,
                                                std::string_view family_id) {
  if (domain::check_id(family_id, "family_id")) return not_found("family");
  auto loaded = models.load<domain::FamilyState>(streams::family(tenant, family_id));
  if (loaded && !loaded->state().exists) return not_found("family");
  return loaded;
}

Result<Loaded<domain::GuardianState>> load_guardian(WriteModels& models,
                                                    std::string_view tenant,
                                                    std::string_view guardian_id) {
  if (domain::check_id(guardian_id, "guardian_id")) return not_found("guardian");
  auto loaded = models.load<domain::GuardianState>(streams::guardian(tenant, guardian_id));
  if (loaded && !loaded->state().exists) return not_found("guardian");
  return loaded;
}

Result<SessionGuardian> load_session_guardian(WriteModels& models, Ports& ports,
                                              std::string_view tenant, std::string_view token) {
  auto invalid = [] {
    return make_error(refusal::kSessionInvalid, "the session is invalid or has ended; log in again");
  };
  auto located = domain::split_located_secret(token);
  if (!located) return invalid();
  auto guardian = load_guardian(models, tenant, located->id);
  if (!guardian) {
    if (guardian.error().code == refusal::kNotFound) return invalid();
    return guardian.error();
  }
  const auto now = ports.clock.now_us();
  std::string session_id = guardian->state().session_for(ports.tokens.hash(token), now);
  if (session_id.empty()) return invalid();
  bool must_change = guardian->state().sessions.at(session_id).must_change_password;
  return SessionGuardian{std::move(*guardian), std::move(session_id), must_change};
}

Error password_policy_refusal(std::vector<std::string> unmet) {
  std::string message = "the password does not meet the password policy:";
  for (const auto& rule : unmet) message += " " + rule;
  Error e = make_error(refusal::kPasswordPolicy, std::move(message), "new_password");
  e.details = std::move(unmet);
  return e;
}

std::optional<Error> check_new_password(const domain::TenantSettings& settings,
                                        const domain::GuardianState& guardian,
                                        std::string_view login_id, std::string_view password) {
  domain::PasswordContext context{std::string(login_id), guardian.email, guardian.first_name,
                                  guardian.last_name};
  auto unmet = domain::unmet_password_rules(settings, password, context);
  if (unmet.empty()) return std::nullopt;
  return password_policy_refusal(std::move(unmet));
}

std::string make_located_token(Ports& ports, std::string_view id) {
  return std::string(id) + "." + ports.random.token(32);
}

std::string normalise_security_answer(std::string_view answer) {
  std::string out;
  bool space = false;
  for (char c : domain::trim(answer)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return domain::ascii_lower(out);
}

std::optional<Error> check_contact(const GuardianContact& contact) {
  if (auto e = domain::check_name(contact.first_name, "first_name")) return e;
  if (auto e = domain::check_name(contact.last_name, "last_name")) return e;
  if (auto e = domain::check_email(contact.email, "email")) return e;
  if (auto e = domain::check_phone(contact.phone, "phone")) return e;
  return std::nullopt;
}

std::optional<Error> check_may_receive_credentials(const domain::GuardianState& guardian) {
  if (!guardian.can_log_in) return make_error(refusal::kLoginNotAllowed, "this guardian may not log in");
  if (guardian.reset_required) {
    return make_error(refusal::kAccountResetRequired,
                      "this portal login was reset; the guardian must claim the account again");
  }
  return std::nullopt;
}

}  // namespace latchkey::commands
