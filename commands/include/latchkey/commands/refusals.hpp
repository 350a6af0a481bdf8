// The stable refusal codes of the write side. Each maps one-to-one to the
// HTTP problem `code` (and a status, chosen in http/).
#pragma once

namespace latchkey::commands::refusal {

inline constexpr const char* kInvalidInput = "invalid_input";
inline constexpr const char* kInvalidSetting = "invalid_setting";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kTenantExists = "tenant_exists";
inline constexpr const char* kEmailTaken = "email_taken";
inline constexpr const char* kChildExists = "child_exists";
inline constexpr const char* kLoginIdTaken = "login_id_taken";
inline constexpr const char* kAlreadyRegistered = "already_registered";
inline constexpr const char* kPasswordPolicy = "password_policy";  // details: the unmet rules
inline constexpr const char* kInvalidCredentials = "invalid_credentials";
inline constexpr const char* kSessionInvalid = "session_invalid";
inline constexpr const char* kPasswordChangeRequired = "password_change_required";
inline constexpr const char* kCurrentPasswordWrong = "current_password_wrong";
inline constexpr const char* kSmsDisabled = "sms_disabled";
inline constexpr const char* kSmsCreditsExhausted = "sms_credits_exhausted";
inline constexpr const char* kNoEmailOnFile = "no_email_on_file";
inline constexpr const char* kNoPhoneOnFile = "no_phone_on_file";
inline constexpr const char* kLoginNotAllowed = "login_not_allowed";
inline constexpr const char* kAccountResetRequired = "account_reset_required";
inline constexpr const char* kTokenInvalid = "token_invalid";
inline constexpr const char* kTokenExpired = "token_expired";
inline constexpr const char* kTokenUsed = "token_used";
inline constexpr const char* kTokenSuperseded = "token_superseded";
inline constexpr const char* kSecurityAnswerRequired = "security_answer_required";
inline constexpr const char* kSecurityAnswerWrong = "security_answer_wrong";
inline constexpr const char* kPolicyUnknown = "policy_unknown";
inline constexpr const char* kPolicyVersionExists = "policy_version_exists";
inline constexpr const char* kAlreadyAccepted = "already_accepted";
inline constexpr const char* kReasonRequired = "reason_required";
inline constexpr const char* kInvalidApiKey = "invalid_api_key";
inline constexpr const char* kVersionConflict = "version_conflict";  // retries exhausted

}  // namespace latchkey::commands::refusal
