#include "latchkey/domain/guardian.hpp"

#include <algorithm>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/ports.hpp"
#include "latchkey/domain/validation.hpp"

namespace latchkey::domain {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;

}  // namespace

std::string GuardianState::login_id() const {
  if (reset_required) return custom_login_id;
  return custom_login_id.empty() ? email : custom_login_id;
}

std::string_view GuardianState::status(Micros now) const {
  if (reset_required) return kStatusResetRequired;
  // A used temporary password leaves no credential, yet the account exists
  // and waits for its new password (set in the session the password opened).
  if (!has_credentials() && !must_change_password) return kStatusNoAccount;
  if (is_locked(now)) return kStatusLocked;
  if (must_change_password) return kStatusMustChange;
  return kStatusActive;
}

const ResetRecord* GuardianState::pending_reset(Micros now) const {
  for (auto it = resets.rbegin(); it != resets.rend(); ++it) {
    if (it->status == ResetStatus::pending && it->expires_at_us > now) return &*it;
  }
  return nullptr;
}

std::int64_t GuardianState::reset_requests_in_last_hour(Micros now) const {
  return std::count_if(reset_requests_sent_us.begin(), reset_requests_sent_us.end(),
                       [now](Micros t) { return t > now - kHour; });
}

std::vector<std::string> GuardianState::session_ids() const {
  std::vector<std::string> ids;
  ids.reserve(sessions.size());
  for (const auto& [id, s] : sessions) ids.push_back(id);
  return ids;
}

std::vector<std::string> GuardianState::sessions_to_end_for_login(Micros now) const {
  std::vector<std::pair<Micros, std::string>> live;
  for (const auto& [id, s] : sessions) {
    if (s.expires_at_us > now) live.emplace_back(s.expires_at_us, id);
  }
  std::vector<std::string> out;
  if (live.size() < kMaxSessions) return out;
  std::sort(live.begin(), live.end());
  for (std::size_t i = 0; i + kMaxSessions <= live.size(); ++i) out.push_back(live[i].second);
  return out;
}

std::string GuardianState::session_for(std::string_view token_hash, Micros now) const {
  std::string found;
  for (const auto& [id, s] : sessions) {
    if (constant_time_equal(s.token_hash, token_hash) && s.expires_at_us > now) found = id;
  }
  return found;
}

void GuardianState::apply(const DomainEvent& event, Micros at) {
  // Time passes with every event: forget what can no longer matter.
  std::erase_if(sessions, [at](const auto& kv) { return kv.second.expires_at_us <= at; });
  std::erase_if(reset_requests_sent_us, [at](Micros t) { return t <= at - kHour; });

  auto revoke = [this](const std::vector<std::string>& ids) {
    for (const auto& id : ids) sessions.erase(id);
  };
  auto supersede_resets = [this] {
    for (auto& r : resets) {
      if (r.status == ResetStatus::pending) r.status = ResetStatus::superseded;
    }
  };
  auto find_reset = [this](const std::string& reset_id) -> ResetRecord* {
    for (auto& r : resets) {
      if (r.reset_id == reset_id) return &r;
    }
    return nullptr;
  };
  auto clear_lockout = [this] {
    failed_login_count = 0;
    locked_until_us = 0;
  };

  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, GuardianAdded>) {
          exists = true;
          id = e.guardian_id;
          family_id = e.family_id;
          first_name = e.first_name;
          last_name = e.last_name;
          email = e.email;
          phone = e.phone;
          can_log_in = e.can_log_in;
        } else if constexpr (std::is_same_v<E, GuardianContactUpdated>) {
          first_name = e.first_name;
          last_name = e.last_name;
          email = e.email;
          phone = e.phone;
          // A custom login ID that is now the email simply follows the email:
          // one registry entry, which is the email's.
          if (login_key(custom_login_id) == login_key(email)) custom_login_id.clear();
        } else if constexpr (std::is_same_v<E, LoginPermissionChanged>) {
          can_log_in = e.can_log_in;
          revoke(e.revoked_sessions);
          if (!e.can_log_in) {
            supersede_resets();
            temporary_password_hash.clear();
          }
        } else if constexpr (std::is_same_v<E, PortalAccountRegistered>) {
          password_hash = e.password_hash;
          custom_login_id = login_key(e.login_id) == login_key(email) ? "" : e.login_id;
          reset_required = false;
          must_change_password = false;
        } else if constexpr (std::is_same_v<E, LoginSucceeded>) {
          has_logged_in = true;
          last_login_us = at;
          login_count = e.login_count;
          failed_login_count = 0;
          if (e.via == "temporary_password") temporary_password_hash.clear();
          sessions[e.session_id] = Session{e.token_hash, e.expires_at_us, e.must_change_password};
        } else if constexpr (std::is_same_v<E, LoginFailed>) {
          failed_login_count = e.failed_count;
        } else if constexpr (std::is_same_v<E, AccountLockedOut>) {
          locked_until_us = e.locked_until_us;
          failed_login_count = 0;
        } else if constexpr (std::is_same_v<E, SessionEnded>) {
          sessions.erase(e.session_id);
        } else if constexpr (std::is_same_v<E, PasswordChanged>) {
          password_hash = e.password_hash;
          temporary_password_hash.clear();
          must_change_password = false;
          reset_required = false;
          clear_lockout();
          supersede_resets();
          revoke(e.revoked_sessions);
          if (auto it = sessions.find(e.kept_session_id); it != sessions.end()) {
            it->second.must_change_password = false;
          }
        } else if constexpr (std::is_same_v<E, PasswordRehashed>) {
          password_hash = e.password_hash;
        } else if constexpr (std::is_same_v<E, ResetRequested>) {
          supersede_resets();
          resets.push_back(ResetRecord{e.reset_id, e.token_hash, e.channel, e.expires_at_us,
                                       ResetStatus::pending, 0});
          if (resets.size() > kResetHistory) resets.erase(resets.begin());
          reset_requests_sent_us.push_back(at);
        } else if constexpr (std::is_same_v<E, ResetTokenRedeemed>) {
          if (auto* r = find_reset(e.reset_id)) r->status = ResetStatus::used;
        } else if constexpr (std::is_same_v<E, ResetTokenRejected>) {
          auto* r = find_reset(e.reset_id);
          if (r && e.reason == "security_answer_wrong" &&
              ++r->wrong_answers >= kMaxWrongSecurityAnswers && r->status == ResetStatus::pending) {
            r->status = ResetStatus::exhausted;
          }
        } else if constexpr (std::is_same_v<E, TemporaryPasswordIssued>) {
          password_hash.clear();
          temporary_password_hash = e.password_hash;
          temporary_password_expires_at_us = e.expires_at_us;
          must_change_password = true;
          reset_required = false;
          clear_lockout();
          supersede_resets();
          revoke(e.revoked_sessions);
        } else if constexpr (std::is_same_v<E, LoginIdChanged>) {
          custom_login_id = login_key(e.login_id) == login_key(email) ? "" : e.login_id;
        } else if constexpr (std::is_same_v<E, SecurityQuestionSet>) {
          security_question = e.question;
          security_answer_hash = e.answer_hash;
        } else if constexpr (std::is_same_v<E, PortalLoginReset>) {
          password_hash.clear();
          temporary_password_hash.clear();
          custom_login_id.clear();
          security_question.clear();
          security_answer_hash.clear();
          has_logged_in = false;
          must_change_password = false;
          reset_required = true;
          clear_lockout();
          supersede_resets();
          revoke(e.revoked_sessions);
        } else if constexpr (std::is_same_v<E, AccountClaimed>) {
          reset_required = false;
          custom_login_id = login_key(e.login_id) == login_key(email) ? "" : e.login_id;
        }
      },
      event);
}

}  // namespace latchkey::domain
