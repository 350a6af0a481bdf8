// Every event of Latchkey as a plain struct (SPEC §4).
//
// Each event has a PascalCase past-tense type name, a schema version and a
// strict JSON payload (see json_fields.hpp). Payloads never hold a secret in
// plain text: passwords and security answers appear only as Argon2id hashes,
// tokens and keys only as keyed BLAKE2b hashes.
//
// Streams (see streams.hpp): tenant-…, family-…, guardian-…, child-…, login-…
// (the login-ID registry) and platform. Every payload also names its subject
// ids so that projections never parse stream ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "latchkey/domain/ports.hpp"
#include "latchkey/domain/settings.hpp"
#include "latchkey/result.hpp"

namespace latchkey::domain {

// ---- platform ---------------------------------------------------------------
struct PlatformKeyIssued {
  static constexpr std::string_view kType = "PlatformKeyIssued";
  std::string key_id;
  std::string key_hash;
};

// ---- tenant -----------------------------------------------------------------
struct TenantCreated {
  static constexpr std::string_view kType = "TenantCreated";
  std::string tenant_id;
  std::string name;
  TenantSettings settings;
};
struct TenantConfigured {
  static constexpr std::string_view kType = "TenantConfigured";
  TenantSettings settings;            // the whole new settings
  std::vector<std::string> changed;   // names of the settings that changed
};
struct SmsCreditsAdded {
  static constexpr std::string_view kType = "SmsCreditsAdded";
  std::int64_t amount = 0;
  std::int64_t balance = 0;  // after
};
struct SmsCreditSpent {
  static constexpr std::string_view kType = "SmsCreditSpent";
  std::string guardian_id;
  std::string reset_id;
  std::int64_t balance = 0;  // after
};
struct ApiKeyIssued {
  static constexpr std::string_view kType = "ApiKeyIssued";
  std::string key_id;
  std::string name;
  std::string role;      // admin, staff, registrar, auditor
  std::string key_hash;  // keyed BLAKE2b of the key's secret part
};
struct ApiKeyRevoked {
  static constexpr std::string_view kType = "ApiKeyRevoked";
  std::string key_id;
};
struct PolicyPublished {
  static constexpr std::string_view kType = "PolicyPublished";
  std::string policy_id;
  std::string title;
  std::int64_t version = 0;
  std::string text_sha256;
};

// ---- family and child -------------------------------------------------------
struct FamilyRegistered {
  static constexpr std::string_view kType = "FamilyRegistered";
  std::string family_id;
  std::string name;
};
struct GuardianLinked {  // family stream: the family gains a guardian
  static constexpr std::string_view kType = "GuardianLinked";
  std::string family_id;
  std::string guardian_id;
};
struct ChildAdded {  // child stream; the child id is unique per tenant
  static constexpr std::string_view kType = "ChildAdded";
  std::string child_id;
  std::string family_id;
  std::string first_name;
  std::string last_name;
};
struct PolicyAccepted {
  static constexpr std::string_view kType = "PolicyAccepted";
  std::string family_id;
  std::string policy_id;
  std::int64_t version = 0;
  std::string guardian_id;
};
struct PolicyManuallyAccepted {
  static constexpr std::string_view kType = "PolicyManuallyAccepted";
  std::string family_id;
  std::string policy_id;
  std::int64_t version = 0;
  std::string staff_key_id;
  std::string staff_name;
  std::string reason;
};

// ---- login-ID registry ------------------------------------------------------
// One stream per lower-cased login ID (or email, which is every guardian's
// default login ID): whoever holds it, exactly one guardian at a time.
struct LoginIdReserved {
  static constexpr std::string_view kType = "LoginIdReserved";
  std::string login_id;  // as typed
  std::string guardian_id;
};
struct LoginIdReleased {
  static constexpr std::string_view kType = "LoginIdReleased";
  std::string login_id;
  std::string guardian_id;
};

// ---- guardian ---------------------------------------------------------------
struct GuardianAdded {
  static constexpr std::string_view kType = "GuardianAdded";
  std::string guardian_id;
  std::string family_id;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone;
  bool can_log_in = true;
};
struct GuardianContactUpdated {
  static constexpr std::string_view kType = "GuardianContactUpdated";
  std::string guardian_id;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone;
  std::string previous_email;
  std::vector<std::string> changed;
};
struct LoginPermissionChanged {
  static constexpr std::string_view kType = "LoginPermissionChanged";
  std::string guardian_id;
  bool can_log_in = true;
  std::vector<std::string> revoked_sessions;
};
struct PortalAccountRegistered {
  static constexpr std::string_view kType = "PortalAccountRegistered";
  std::string guardian_id;
  std::string login_id;
  std::string password_hash;
};
struct LoginSucceeded {
  static constexpr std::string_view kType = "LoginSucceeded";
  std::string guardian_id;
  std::string session_id;
  std::string token_hash;
  Micros expires_at_us = 0;
  std::string login_id;
  bool first_login = false;      // this login fills the contact record's Login ID
  std::string via;               // "password" or "temporary_password"
  bool must_change_password = false;  // the session may only set a new password
  std::int64_t login_count = 0;  // after
};
struct LoginFailed {
  static constexpr std::string_view kType = "LoginFailed";
  std::string guardian_id;
  std::string reason;  // wrong_password, locked, login_not_allowed, no_password, temporary_password_expired
  std::int64_t failed_count = 0;  // after
};
struct AccountLockedOut {
  static constexpr std::string_view kType = "AccountLockedOut";
  std::string guardian_id;
  Micros locked_until_us = 0;
  std::int64_t failures = 0;
};
struct SessionEnded {
  static constexpr std::string_view kType = "SessionEnded";
  std::string guardian_id;
  std::string session_id;
  std::string reason;  // logout, session_limit (a new login ended the oldest)
};
struct PasswordChanged {
  static constexpr std::string_view kType = "PasswordChanged";
  std::string guardian_id;
  std::string password_hash;
  std::string reason;           // changed, reset
  std::string kept_session_id;  // the session that made the change, if any
  std::vector<std::string> revoked_sessions;
};
struct PasswordRehashed {  // login upgraded an old hash to the current cost
  static constexpr std::string_view kType = "PasswordRehashed";
  std::string guardian_id;
  std::string password_hash;
};
struct ResetRequested {
  static constexpr std::string_view kType = "ResetRequested";
  std::string guardian_id;
  std::string reset_id;
  std::string channel;       // email, sms
  std::string recipient;     // masked: "a***@example.com"
  std::string token_hash;
  Micros expires_at_us = 0;
  std::string requested_by;  // self, staff
};
struct ResetRequestThrottled {
  static constexpr std::string_view kType = "ResetRequestThrottled";
  std::string guardian_id;
  std::string channel;
  std::string requested_by;
  std::int64_t requests_in_last_hour = 0;
};
struct ResetTokenRedeemed {
  static constexpr std::string_view kType = "ResetTokenRedeemed";
  std::string guardian_id;
  std::string reset_id;
};
struct ResetTokenRejected {
  static constexpr std::string_view kType = "ResetTokenRejected";
  std::string guardian_id;
  std::string reset_id;  // empty when the token matched no request
  std::string reason;    // token_invalid, token_expired, token_used, token_superseded,
                         // security_answer_wrong, login_not_allowed
};
struct TemporaryPasswordIssued {
  static constexpr std::string_view kType = "TemporaryPasswordIssued";
  std::string guardian_id;
  std::string password_hash;
  Micros expires_at_us = 0;
  std::string recipient;  // masked
  std::string trigger;    // staff, claim
  std::vector<std::string> revoked_sessions;
};
struct LoginIdChanged {
  static constexpr std::string_view kType = "LoginIdChanged";
  std::string guardian_id;
  std::string previous_login_id;
  std::string login_id;
};
struct SecurityQuestionSet {
  static constexpr std::string_view kType = "SecurityQuestionSet";
  std::string guardian_id;
  std::string question;
  std::string answer_hash;
};
struct PortalLoginReset {
  static constexpr std::string_view kType = "PortalLoginReset";
  std::string guardian_id;
  std::string released_login_id;  // empty when the guardian was following the email
  std::vector<std::string> revoked_sessions;
};
struct AccountClaimed {
  static constexpr std::string_view kType = "AccountClaimed";
  std::string guardian_id;
  std::string login_id;
  std::string child_id;
};
struct AccountClaimRejected {
  static constexpr std::string_view kType = "AccountClaimRejected";
  std::string child_id;
  std::string guardian_id;  // empty when no guardian matched
  std::string reason;       // name_mismatch, not_reset, login_id_taken, login_not_allowed, no_email
};

// ---- delivery ---------------------------------------------------------------
struct NotificationSent {
  static constexpr std::string_view kType = "NotificationSent";
  std::string message_id;
  std::string guardian_id;
  std::string channel;
  std::string kind;
  std::string recipient;  // masked
};
struct NotificationFailed {
  static constexpr std::string_view kType = "NotificationFailed";
  std::string message_id;
  std::string guardian_id;
  std::string channel;
  std::string kind;
  std::string recipient;  // masked
  std::string error;      // never the message body
  std::int64_t attempts = 0;
  bool final = false;     // dropped: expired or out of attempts
};

using DomainEvent = std::variant<
    PlatformKeyIssued, TenantCreated, TenantConfigured, SmsCreditsAdded, SmsCreditSpent,
    ApiKeyIssued, ApiKeyRevoked, PolicyPublished, FamilyRegistered, GuardianLinked, ChildAdded,
    PolicyAccepted, PolicyManuallyAccepted, LoginIdReserved, LoginIdReleased, GuardianAdded,
    GuardianContactUpdated, LoginPermissionChanged, PortalAccountRegistered, LoginSucceeded,
    LoginFailed, AccountLockedOut, SessionEnded, PasswordChanged, PasswordRehashed,
    ResetRequested, ResetRequestThrottled, ResetTokenRedeemed, ResetTokenRejected,
    TemporaryPasswordIssued, LoginIdChanged, SecurityQuestionSet, PortalLoginReset,
    AccountClaimed, AccountClaimRejected, NotificationSent, NotificationFailed>;

// Every event currently has schema version 1; a shape change bumps it and
// decode_event() upgrades older payloads.
inline constexpr std::uint32_t kSchemaVersion = 1;

std::string_view event_type(const DomainEvent& event);
// Compact JSON, byte for byte what nlohmann's dump() writes (keys sorted):
// flat payloads by a writer of their own, the others by nlohmann. Throws
// nlohmann's type_error for a string that is not UTF-8.
std::string encode_payload(const DomainEvent& event);
// nlohmann alone: the reference the fast writer is held to (tests).
std::string encode_payload_reference(const DomainEvent& event);

// Decodes a stored payload. Refuses (code "malformed_event") an unknown type,
// an unknown schema version, a payload that is not valid JSON, a missing or
// mistyped field, and a field it does not know.
//
// Payloads as encode_payload() writes them take a fast path that builds no
// JSON document; anything else is decoded by nlohmann, the reference, with
// the same answers (tests/domain/events_test.cpp, tests/fuzz/fuzz_events.cpp).
Result<DomainEvent> decode_event(std::string_view type, std::uint32_t schema_version,
                                 std::string_view payload);
// The two paths alone, for the tests that hold one to the other: the
// reference, and the fast path (nullopt where it declines).
Result<DomainEvent> decode_event_reference(std::string_view type, std::uint32_t schema_version,
                                           std::string_view payload);
std::optional<DomainEvent> decode_event_flat(std::string_view type, std::string_view payload);

// The type names of every event, in declaration order.
std::vector<std::string_view> all_event_types();

}  // namespace latchkey::domain
