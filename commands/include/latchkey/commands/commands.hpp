// The write side: one handler per command of SPEC §4.
//
// Each handler loads the write models it needs from their streams, decides
// (a pure function of those states, the command and the ports) and appends
// the resulting events with the expected version of every stream it read and
// writes. On a version clash it decides again on the new state, so concurrent
// commands serialise per stream: of two redemptions of one token, or two
// guardians racing for one login ID, exactly one wins.
//
// Refusals are Errors with a stable code (see refusal_codes.hpp). Secrets in
// a command (passwords, security answers) are hashed before anything is
// stored and never appear in an error. Handlers block on Argon2id and on the
// durable append: call them from worker threads, never from an I/O thread.
//
// Thread safety: a CommandHandlers may be used from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "latchkey/commands/context.hpp"
#include "latchkey/domain/messages.hpp"
#include "latchkey/domain/settings.hpp"
#include "latchkey/eventstore/event_store.hpp"
#include "latchkey/result.hpp"

namespace latchkey::commands {

// ---- inputs -----------------------------------------------------------------
struct CreateTenant { std::string tenant_id; std::string name; };
struct ConfigureTenant { const nlohmann::json* patch = nullptr; };  // partial settings
struct AddSmsCredits { std::int64_t amount = 0; };
struct IssueApiKey { std::string name; std::string role; };
struct RevokeApiKey { std::string key_id; };
struct RegisterFamily { std::string name; };
struct GuardianContact {
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone;
  bool can_log_in = true;
};
struct AddGuardian { std::string family_id; GuardianContact contact; };
// Only the fields present change.
struct UpdateGuardianContact {
  std::string guardian_id;
  std::optional<std::string> first_name, last_name, email, phone;
};
struct SetLoginAllowed { std::string guardian_id; bool allowed = true; };
struct ChildInput { std::string child_id; std::string first_name; std::string last_name; };
struct AddChild { std::string family_id; ChildInput child; };
struct RegisterPortalAccount {
  std::string guardian_id;
  std::string password;
  std::string login_id;  // empty: the email
};
// Online registration: family, guardians (optionally with a portal account
// each) and children, all in one atomic append.
struct RegistrationGuardian {
  GuardianContact contact;
  std::string password;  // empty: no portal account yet
  std::string login_id;  // empty: the email
};
struct Register {
  std::string family_name;
  std::vector<RegistrationGuardian> guardians;
  std::vector<ChildInput> children;
};
struct LogIn { std::string login; std::string password; };
struct LogOut { std::string session_token; };
struct ChangePassword {
  std::string session_token;
  std::string current_password;  // not needed in a must-change session
  std::string new_password;
};
struct RequestResetSelf { std::string login; };  // login ID or email
struct RequestResetStaff { std::string guardian_id; std::string channel; };  // email | sms
struct RedeemToken {
  std::string token;
  std::string new_password;
  std::string security_answer;
};
struct IssueTemporaryPassword { std::string guardian_id; };
struct ChangeLoginId { std::string session_token; std::string login_id; };
struct SetSecurityQuestion {
  std::string session_token;
  std::string current_password;
  std::string question;
  std::string answer;
};
struct ResetPortalLogin { std::vector<std::string> guardian_ids; };
struct ClaimAccount {
  std::string login_id;
  std::string child_id;
  std::string first_name;
  std::string last_name;
};
struct PublishPolicy {
  std::string policy_id;
  std::string title;
  std::int64_t version = 0;
  std::string text;         // either the text …
  std::string text_sha256;  // … or its SHA-256 (hex)
};
struct AcceptPolicy { std::string session_token; std::string policy_id; std::int64_t version = 0; };
struct ManuallyAcceptPolicy {
  std::string family_id;
  std::string policy_id;
  std::int64_t version = 0;
  std::string reason;
};

// ---- outcomes ---------------------------------------------------------------
struct Accepted {
  std::uint64_t position = 0;  // global position of the command's last event
};
struct IssuedApiKey {
  std::uint64_t position = 0;
  std::string key_id;
  std::string name;
  std::string role;
  std::string key;  // shown this once; only its hash is stored
};
struct Created {
  std::uint64_t position = 0;
  std::string id;
};
struct Registered {
  std::uint64_t position = 0;
  std::string family_id;
  std::vector<std::string> guardian_ids;
  std::vector<std::string> child_ids;
};
struct LoggedIn {
  std::uint64_t position = 0;
  std::string session_token;  // "<guardian id>.<secret>"; only its hash is stored
  std::string guardian_id;
  bool must_change_password = false;
  domain::Micros expires_at_us = 0;
};
// The answer of a self-service command is the same whatever happened; the
// position is for tests and metrics only and must never reach the client.
struct SelfServiceDone {
  std::uint64_t position = 0;
};
struct StaffResetRequested {
  std::uint64_t position = 0;
  std::string channel;
  bool throttled = false;  // accepted but not sent (SPEC §3 max_reset_requests_per_hour)
  domain::Micros expires_at_us = 0;
};
struct TemporaryPasswordSent {
  std::uint64_t position = 0;
  domain::Micros expires_at_us = 0;
};
struct PortalLoginResetResult {
  std::string guardian_id;
  std::string status;  // reset, not_found, failed
  std::uint64_t position = 0;
  std::string error;   // code, when failed
};
// Who an authenticated guardian session is.
struct GuardianPrincipal {
  std::string guardian_id;
  std::string session_id;
  bool must_change_password = false;
};
struct ApiKeyPrincipal {
  std::string key_id;
  std::string name;
  std::string role;
};

class WriteModels;

class CommandHandlers {
 public:
  CommandHandlers(eventstore::EventStore& store, Ports ports);
  ~CommandHandlers();
  CommandHandlers(const CommandHandlers&) = delete;
  CommandHandlers& operator=(const CommandHandlers&) = delete;

  // Tenant administration.
  Result<Accepted> create_tenant(const CommandContext& ctx, const CreateTenant& cmd);
  Result<Accepted> configure_tenant(const CommandContext& ctx, const ConfigureTenant& cmd);
  Result<Accepted> add_sms_credits(const CommandContext& ctx, const AddSmsCredits& cmd);
  Result<IssuedApiKey> issue_api_key(const CommandContext& ctx, const IssueApiKey& cmd);
  Result<Accepted> revoke_api_key(const CommandContext& ctx, const RevokeApiKey& cmd);
  Result<Accepted> publish_policy(const CommandContext& ctx, const PublishPolicy& cmd);

  // Families, guardians, children (staff, registrar).
  Result<Created> register_family(const CommandContext& ctx, const RegisterFamily& cmd);
  Result<Created> add_guardian(const CommandContext& ctx, const AddGuardian& cmd);
  Result<Accepted> update_guardian_contact(const CommandContext& ctx, const UpdateGuardianContact& cmd);
  Result<Accepted> set_login_allowed(const CommandContext& ctx, const SetLoginAllowed& cmd);
  Result<Created> add_child(const CommandContext& ctx, const AddChild& cmd);
  Result<Registered> register_online(const CommandContext& ctx, const Register& cmd);
  Result<Accepted> register_portal_account(const CommandContext& ctx, const RegisterPortalAccount& cmd);

  // Guardian sessions and credentials.
  Result<LoggedIn> log_in(const CommandContext& ctx, const LogIn& cmd);
  Result<Accepted> log_out(const CommandContext& ctx, const LogOut& cmd);
  Result<Accepted> change_password(const CommandContext& ctx, const ChangePassword& cmd);
  Result<Accepted> change_login_id(const CommandContext& ctx, const ChangeLoginId& cmd);
  Result<Accepted> set_security_question(const CommandContext& ctx, const SetSecurityQuestion& cmd);

  // Resets.
  Result<SelfServiceDone> request_reset(const CommandContext& ctx, const RequestResetSelf& cmd);
  Result<StaffResetRequested> request_reset(const CommandContext& ctx, const RequestResetStaff& cmd);
  Result<Accepted> redeem_token(const CommandContext& ctx, const RedeemToken& cmd);
  Result<TemporaryPasswordSent> issue_temporary_password(const CommandContext& ctx,
                                                         const IssueTemporaryPassword& cmd);
  std::vector<PortalLoginResetResult> reset_portal_login(const CommandContext& ctx,
                                                         const ResetPortalLogin& cmd);
  Result<SelfServiceDone> claim_account(const CommandContext& ctx, const ClaimAccount& cmd);

  // Policies.
  Result<Accepted> accept_policy(const CommandContext& ctx, const AcceptPolicy& cmd);
  Result<Accepted> manually_accept_policy(const CommandContext& ctx, const ManuallyAcceptPolicy& cmd);

  // Whether an outbox message's credential is still the one in force (the
  // dispatcher drops it otherwise): domain::still_current on the guardian's
  // current state. A guardian that no longer exists gets nothing.
  Result<bool> message_still_current(const domain::OutboxMessage& message, domain::Micros now);

  // Authentication from the write models (always current, never stale).
  Result<GuardianPrincipal> authenticate_session(std::string_view tenant, std::string_view token);
  Result<ApiKeyPrincipal> authenticate_api_key(std::string_view tenant, std::string_view key);

  eventstore::EventStore& store() { return store_; }
  Ports& ports() { return ports_; }
  // Write models cached for recently used streams (for /metrics).
  std::size_t cached_write_models();

 private:
  // Argon2id work with nothing to compare against, so that an unknown login
  // costs what a known one does (SPEC §2 rule 4).
  void burn_password_check(std::string_view secret);

  eventstore::EventStore& store_;
  Ports ports_;
  std::unique_ptr<WriteModels> models_;  // cached write models of recently used streams
  std::string dummy_password_hash_;
};

}  // namespace latchkey::commands
