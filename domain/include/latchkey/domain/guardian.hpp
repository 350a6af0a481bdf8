// The guardian aggregate: the contact record and its portal account.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "latchkey/domain/events.hpp"

namespace latchkey::domain {

struct Session {
  std::string token_hash;
  Micros expires_at_us = 0;
  bool must_change_password = false;  // may only set a new password or log out
  friend bool operator==(const Session&, const Session&) = default;
};

enum class ResetStatus { pending, used, superseded, exhausted };

struct ResetRecord {
  std::string reset_id;
  std::string token_hash;
  std::string channel;
  Micros expires_at_us = 0;
  ResetStatus status = ResetStatus::pending;
  int wrong_answers = 0;
  friend bool operator==(const ResetRecord&, const ResetRecord&) = default;
};

// Login status as SPEC §5 names it.
inline constexpr std::string_view kStatusNoAccount = "no_account";
inline constexpr std::string_view kStatusActive = "active";
inline constexpr std::string_view kStatusMustChange = "must_change_password";
inline constexpr std::string_view kStatusLocked = "locked";
inline constexpr std::string_view kStatusResetRequired = "reset_required";

// How many wrong security answers burn a reset link.
inline constexpr int kMaxWrongSecurityAnswers = 3;
// How many past reset requests a guardian keeps (to tell used from superseded).
inline constexpr std::size_t kResetHistory = 16;
// How many sessions a guardian may hold at once (phones, tablets, a shared
// family computer). A login past it ends the oldest, so a script logging in
// all day cannot grow the account's state, and a forgotten device drops out.
inline constexpr std::size_t kMaxSessions = 10;

struct GuardianState {
  bool exists = false;
  std::string id;
  std::string family_id;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone;
  bool can_log_in = true;

  // Portal account.
  std::string custom_login_id;  // empty while the login ID follows the email
  bool has_logged_in = false;   // the contact record shows the Login ID only after this
  std::string password_hash;    // empty: no password
  std::string temporary_password_hash;
  Micros temporary_password_expires_at_us = 0;
  bool must_change_password = false;
  bool reset_required = false;  // after a portal login reset, until claimed
  std::string security_question;
  std::string security_answer_hash;
  Micros last_login_us = 0;
  std::int64_t login_count = 0;
  std::int64_t failed_login_count = 0;
  Micros locked_until_us = 0;
  std::vector<ResetRecord> resets;                 // oldest first, at most kResetHistory
  std::vector<Micros> reset_requests_sent_us;      // for the hourly throttle
  std::map<std::string, Session> sessions;         // by session id; pruned as time passes

  // The login ID in force: the custom one, else the email. Empty after a
  // portal login reset until the account is claimed again.
  std::string login_id() const;
  std::string_view status(Micros now) const;
  bool has_credentials() const { return !password_hash.empty() || !temporary_password_hash.empty(); }
  bool is_locked(Micros now) const { return locked_until_us > now; }
  const ResetRecord* pending_reset(Micros now) const;
  std::int64_t reset_requests_in_last_hour(Micros now) const;
  std::vector<std::string> session_ids() const;
  // The sessions a new login must end to stay within kMaxSessions: the
  // oldest live ones (earliest expiry, then id), none while there is room.
  std::vector<std::string> sessions_to_end_for_login(Micros now) const;
  // The id of the active (unexpired) session with this token hash; compared in
  // constant time. Empty when there is none.
  std::string session_for(std::string_view token_hash, Micros now) const;

  void apply(const DomainEvent& event, Micros at);
  friend bool operator==(const GuardianState&, const GuardianState&) = default;
};

}  // namespace latchkey::domain
