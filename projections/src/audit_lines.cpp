// The audit log's lines: an event as a sentence a person can read. Hashes
// are never shown (and events hold no plain secret to begin with).
#include "latchkey/projections/audit_lines.hpp"

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/guardian.hpp"

namespace latchkey::projections {
namespace {

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string sessions_ended(const std::vector<std::string>& ids) {
  if (ids.empty()) return "";
  return "; " + std::to_string(ids.size()) + (ids.size() == 1 ? " session ended" : " sessions ended");
}

}  // namespace

AuditLine describe(const domain::DomainEvent& event) {
  using namespace domain;
  return std::visit(
      [](const auto& e) -> AuditLine {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, PlatformKeyIssued>) {
          return {"platform", "platform key issued"};
        } else if constexpr (std::is_same_v<E, TenantCreated>) {
          return {e.tenant_id, "tenant \"" + e.name + "\" created"};
        } else if constexpr (std::is_same_v<E, TenantConfigured>) {
          return {"", "settings changed: " + list(e.changed)};
        } else if constexpr (std::is_same_v<E, SmsCreditsAdded>) {
          return {"", std::to_string(e.amount) + " SMS credits added (balance " + std::to_string(e.balance) + ")"};
        } else if constexpr (std::is_same_v<E, SmsCreditSpent>) {
          return {e.guardian_id, "1 SMS credit spent on a reset text (balance " + std::to_string(e.balance) + ")"};
        } else if constexpr (std::is_same_v<E, ApiKeyIssued>) {
          return {e.key_id, e.role + " API key \"" + e.name + "\" issued"};
        } else if constexpr (std::is_same_v<E, ApiKeyRevoked>) {
          return {e.key_id, "API key revoked"};
        } else if constexpr (std::is_same_v<E, PolicyPublished>) {
          return {e.policy_id, "policy \"" + e.title + "\" version " + std::to_string(e.version) + " published"};
        } else if constexpr (std::is_same_v<E, FamilyRegistered>) {
          return {e.family_id, "family \"" + e.name + "\" registered"};
        } else if constexpr (std::is_same_v<E, GuardianLinked>) {
          return {e.family_id, "guardian " + e.guardian_id + " joined the family"};
        } else if constexpr (std::is_same_v<E, ChildAdded>) {
          return {e.child_id, "child " + e.first_name + " " + e.last_name + " added to family " + e.family_id};
        } else if constexpr (std::is_same_v<E, PolicyAccepted>) {
          return {e.family_id, "policy " + e.policy_id + " version " + std::to_string(e.version) +
                                   " accepted electronically by guardian " + e.guardian_id};
        } else if constexpr (std::is_same_v<E, PolicyManuallyAccepted>) {
          return {e.family_id, "policy " + e.policy_id + " version " + std::to_string(e.version) +
                                   " accepted manually by " + e.staff_name + ": " + e.reason};
        } else if constexpr (std::is_same_v<E, LoginIdReserved>) {
          return {e.guardian_id, "login ID " + e.login_id + " reserved"};
        } else if constexpr (std::is_same_v<E, LoginIdReleased>) {
          return {e.guardian_id, "login ID " + e.login_id + " released"};
        } else if constexpr (std::is_same_v<E, GuardianAdded>) {
          return {e.guardian_id, "guardian " + e.first_name + " " + e.last_name + " added" +
                                     (e.can_log_in ? "" : " (may not log in)")};
        } else if constexpr (std::is_same_v<E, GuardianContactUpdated>) {
          return {e.guardian_id, "contact changed: " + list(e.changed)};
        } else if constexpr (std::is_same_v<E, LoginPermissionChanged>) {
          return {e.guardian_id, std::string(e.can_log_in ? "may log in" : "may no longer log in") +
                                     sessions_ended(e.revoked_sessions)};
        } else if constexpr (std::is_same_v<E, PortalAccountRegistered>) {
          return {e.guardian_id, "portal account registered with login ID " + e.login_id};
        } else if constexpr (std::is_same_v<E, LoginSucceeded>) {
          return {e.guardian_id, std::string("logged in") + (e.first_login ? " for the first time" : "") +
                                     (e.via == "temporary_password" ? " with a temporary password" : "") +
                                     " (login " + std::to_string(e.login_count) + ")"};
        } else if constexpr (std::is_same_v<E, LoginFailed>) {
          return {e.guardian_id, "login failed: " + e.reason};
        } else if constexpr (std::is_same_v<E, AccountLockedOut>) {
          return {e.guardian_id, "locked out after " + std::to_string(e.failures) + " failed logins until " +
                                     format_time(e.locked_until_us)};
        } else if constexpr (std::is_same_v<E, SessionEnded>) {
          return {e.guardian_id, e.reason == "session_limit"
                                     ? "oldest session ended: a new login passed " +
                                           std::to_string(domain::kMaxSessions) + " sessions"
                                     : std::string("logged out")};
        } else if constexpr (std::is_same_v<E, PasswordChanged>) {
          return {e.guardian_id, std::string(e.reason == "reset" ? "password reset through a link"
                                                                   : "password changed") +
                                     sessions_ended(e.revoked_sessions)};
        } else if constexpr (std::is_same_v<E, PasswordRehashed>) {
          return {e.guardian_id, "password hash upgraded"};
        } else if constexpr (std::is_same_v<E, ResetRequested>) {
          return {e.guardian_id, "reset link sent by " + e.channel + " to " + e.recipient + " (requested by " +
                                     e.requested_by + ", expires " + format_time(e.expires_at_us) + ")"};
        } else if constexpr (std::is_same_v<E, ResetRequestThrottled>) {
          return {e.guardian_id, "reset request throttled (" + std::to_string(e.requests_in_last_hour) +
                                     " sent in the last hour; requested by " + e.requested_by + ")"};
        } else if constexpr (std::is_same_v<E, ResetTokenRedeemed>) {
          return {e.guardian_id, "reset link used"};
        } else if constexpr (std::is_same_v<E, ResetTokenRejected>) {
          return {e.guardian_id, "reset link refused: " + e.reason};
        } else if constexpr (std::is_same_v<E, TemporaryPasswordIssued>) {
          return {e.guardian_id, "temporary password emailed to " + e.recipient + " (" + e.trigger + ", expires " +
                                     format_time(e.expires_at_us) + ")" + sessions_ended(e.revoked_sessions)};
        } else if constexpr (std::is_same_v<E, LoginIdChanged>) {
          return {e.guardian_id, "login ID changed from " + e.previous_login_id + " to " + e.login_id};
        } else if constexpr (std::is_same_v<E, SecurityQuestionSet>) {
          return {e.guardian_id, "security question set"};
        } else if constexpr (std::is_same_v<E, PortalLoginReset>) {
          return {e.guardian_id, "portal login reset; must re-register" + sessions_ended(e.revoked_sessions)};
        } else if constexpr (std::is_same_v<E, AccountClaimed>) {
          return {e.guardian_id, "account claimed with login ID " + e.login_id + " (child " + e.child_id + ")"};
        } else if constexpr (std::is_same_v<E, AccountClaimRejected>) {
          return {e.guardian_id.empty() ? e.child_id : e.guardian_id, "account claim refused: " + e.reason};
        } else if constexpr (std::is_same_v<E, NotificationSent>) {
          return {e.guardian_id, e.kind + " " + e.channel + " delivered to " + e.recipient};
        } else if constexpr (std::is_same_v<E, NotificationFailed>) {
          return {e.guardian_id, e.kind + " " + e.channel + " to " + e.recipient + " failed (attempt " +
                                     std::to_string(e.attempts) + (e.final ? ", given up" : "") + "): " + e.error};
        }
      },
      event);
}


std::string audit_subject(const domain::DomainEvent& event) {
  using namespace domain;
  return std::visit(
      [](const auto& e) -> std::string {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, PlatformKeyIssued>) {
          return "platform";
        } else if constexpr (std::is_same_v<E, TenantCreated>) {
          return e.tenant_id;
        } else if constexpr (std::is_same_v<E, AccountClaimRejected>) {
          return e.guardian_id.empty() ? e.child_id : e.guardian_id;
        } else if constexpr (std::is_same_v<E, ApiKeyIssued> || std::is_same_v<E, ApiKeyRevoked>) {
          return e.key_id;
        } else if constexpr (std::is_same_v<E, PolicyPublished>) {
          return e.policy_id;
        } else if constexpr (std::is_same_v<E, FamilyRegistered> || std::is_same_v<E, GuardianLinked> ||
                             std::is_same_v<E, PolicyAccepted> || std::is_same_v<E, PolicyManuallyAccepted>) {
          return e.family_id;
        } else if constexpr (std::is_same_v<E, ChildAdded>) {
          return e.child_id;
        } else if constexpr (requires { e.guardian_id; }) {
          return e.guardian_id;
        } else {
          return "";
        }
      },
      event);
}

nlohmann::json audit_entry(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event) {
  const auto& d = recorded.data;
  auto line = describe(event);
  line.subject = audit_subject(event);
  if (line.subject.empty()) line.subject = d.tenant;
  return {{"position", recorded.position},
          {"at", domain::format_time(d.recorded_at_us)},
          {"tenant", d.tenant},
          {"actor", {{"kind", d.actor.kind}, {"id", d.actor.id}, {"name", d.actor.name}}},
          {"type", d.type},
          {"subject", line.subject},
          {"summary", line.summary},
          {"source_ip", d.source_ip.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.source_ip)},
          {"correlation_id", d.correlation_id}};
}

}  // namespace latchkey::projections
