// RequestReset (self-service and staff), RedeemToken, IssueTemporaryPassword.
#include <map>

#include "common.hpp"

namespace latchkey::commands {
namespace {

constexpr domain::Micros kSecond = domain::kMicrosPerSecond;

}  // namespace

Result<SelfServiceDone> CommandHandlers::request_reset(const CommandContext& ctx,
                                                       const RequestResetSelf& cmd) {
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  // The same work whether or not the login exists: a token is drawn and
  // hashed either way, and the answer never says which path was taken.
  const std::string reset_id = ports_.random.id();
  auto nothing = [&] {
    (void)ports_.tokens.hash(make_located_token(ports_, reset_id));
    return SelfServiceDone{0};
  };
  if (cmd.login.empty() || cmd.login.size() > domain::kMaxEmailBytes) return nothing();
  auto registry = models_->load<domain::LoginIdState>(streams::login(ctx.tenant, cmd.login));
  if (!registry) return registry.error();
  if (registry->state().owner.empty()) return nothing();

  return with_retries([&]() -> Result<SelfServiceDone> {
    auto guardian = load_guardian(*models_, ctx.tenant, registry->state().owner);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    if (!g.can_log_in || g.reset_required || g.email.empty()) return nothing();
    const auto& settings = tenant->state().settings;
    const auto now = ports_.clock.now_us();
    const auto stream = streams::guardian(ctx.tenant, g.id);
    Transaction tx;
    const auto recent = g.reset_requests_in_last_hour(now);
    if (recent >= settings.max_reset_requests_per_hour) {
      (void)ports_.tokens.hash(make_located_token(ports_, g.id));
      tx.append(stream, guardian->expected(), domain::ResetRequestThrottled{g.id, "email", "self", recent});
    } else {
      const std::string token = make_located_token(ports_, g.id);
      const auto expires = now + settings.reset_link_ttl_seconds * kSecond;
      tx.append(stream, guardian->expected(),
                domain::ResetRequested{g.id, reset_id, "email", domain::mask_email(g.email),
                                       ports_.tokens.hash(token), expires, "self"});
      tx.send(domain::reset_link_message(
          message_context(ctx, ports_, tenant->state(), g), "email", g.email, g.login_id(), token,
          expires, reset_id));
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return SelfServiceDone{r->last_position};
  });
}

Result<StaffResetRequested> CommandHandlers::request_reset(const CommandContext& ctx,
                                                           const RequestResetStaff& cmd) {
  if (cmd.channel != "email" && cmd.channel != "sms") {
    return make_error(refusal::kInvalidInput, "channel must be email or sms", "channel");
  }
  const bool sms = cmd.channel == "sms";
  return with_retries([&]() -> Result<StaffResetRequested> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    auto guardian = load_guardian(*models_, ctx.tenant, cmd.guardian_id);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    const auto& t = tenant->state();
    if (auto e = check_may_receive_credentials(g)) return *e;
    if (sms) {
      if (!t.settings.sms_enabled) return make_error(refusal::kSmsDisabled, "SMS is not enabled for this tenant");
      if (g.phone.empty()) return make_error(refusal::kNoPhoneOnFile, "this guardian has no phone number on file");
      if (t.sms_balance <= 0) return make_error(refusal::kSmsCreditsExhausted, "no SMS credits are left");
    } else if (g.email.empty()) {
      return make_error(refusal::kNoEmailOnFile, "this guardian has no email address on file");
    }
    const auto now = ports_.clock.now_us();
    const auto stream = streams::guardian(ctx.tenant, g.id);
    Transaction tx;
    const auto recent = g.reset_requests_in_last_hour(now);
    if (recent >= t.settings.max_reset_requests_per_hour) {
      tx.append(stream, guardian->expected(),
                domain::ResetRequestThrottled{g.id, cmd.channel, "staff", recent});
      auto r = commit(*models_, ctx, ports_, tx);
      if (!r) return r.error();
      return StaffResetRequested{r->last_position, cmd.channel, true, 0};
    }
    const std::string reset_id = ports_.random.id();
    const std::string token = make_located_token(ports_, g.id);
    const auto expires = now + t.settings.reset_link_ttl_seconds * kSecond;
    const std::string& to = sms ? g.phone : g.email;
    tx.append(stream, guardian->expected(),
              domain::ResetRequested{g.id, reset_id, cmd.channel,
                                     sms ? domain::mask_phone(to) : domain::mask_email(to),
                                     ports_.tokens.hash(token), expires, "staff"});
    if (sms) {
      // The credit is spent in the same atomic append, against the tenant's
      // expected version: concurrent SMS requests can never overdraw it.
      tx.append(streams::tenant(ctx.tenant), tenant->expected(),
                domain::SmsCreditSpent{g.id, reset_id, t.sms_balance - 1});
    }
    tx.send(domain::reset_link_message(message_context(ctx, ports_, t, g), cmd.channel, to,
                                       g.login_id(), token, expires, reset_id));
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return StaffResetRequested{r->last_position, cmd.channel, false, expires};
  });
}

Result<Accepted> CommandHandlers::redeem_token(const CommandContext& ctx, const RedeemToken& cmd) {
  auto invalid = [] { return make_error(refusal::kTokenInvalid, "this reset link is not valid", "token"); };
  auto located = domain::split_located_secret(cmd.token);
  if (!located) return invalid();
  if (cmd.new_password.size() > domain::kMaxPasswordBytes * 4) {
    return password_policy_refusal({"max_length"});
  }
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  const auto& settings = tenant->state().settings;
  const std::string token_hash = ports_.tokens.hash(cmd.token);
  const std::string answer = normalise_security_answer(cmd.security_answer);
  std::map<std::string, bool> answer_checked;  // by answer hash, across retries
  std::string new_hash;

  return with_retries([&]() -> Result<Accepted> {
    auto guardian = load_guardian(*models_, ctx.tenant, located->id);
    if (!guardian) {
      if (guardian.error().code == refusal::kNotFound) return invalid();
      return guardian.error();
    }
    const auto& g = guardian->state();
    const auto now = ports_.clock.now_us();
    const auto stream = streams::guardian(ctx.tenant, g.id);
    const domain::ResetRecord* match = nullptr;
    for (const auto& r : g.resets) {
      if (domain::constant_time_equal(r.token_hash, token_hash)) match = &r;
    }
    auto reject = [&](const char* code, const char* message) -> Result<Accepted> {
      Transaction tx;
      tx.append(stream, guardian->expected(),
                domain::ResetTokenRejected{g.id, match ? match->reset_id : "", code});
      auto r = commit(*models_, ctx, ports_, tx);
      if (!r) return r.error();
      return make_error(code, message, "token");
    };
    if (match == nullptr) return reject(refusal::kTokenInvalid, "this reset link is not valid");
    if (!g.can_log_in) return reject(refusal::kLoginNotAllowed, "this guardian may not log in");
    switch (match->status) {
      case domain::ResetStatus::used:
      case domain::ResetStatus::exhausted:
        return reject(refusal::kTokenUsed, "this reset link was already used");
      case domain::ResetStatus::superseded:
        return reject(refusal::kTokenSuperseded, "a newer reset link was sent; use that one");
      case domain::ResetStatus::pending:
        break;
    }
    if (match->expires_at_us <= now) return reject(refusal::kTokenExpired, "this reset link has expired");

    if (settings.require_security_answer && !g.security_answer_hash.empty()) {
      if (answer.empty()) {
        return make_error(refusal::kSecurityAnswerRequired,
                          "the answer to the security question is required", "security_answer");
      }
      auto it = answer_checked.find(g.security_answer_hash);
      if (it == answer_checked.end()) {
        it = answer_checked.emplace(g.security_answer_hash,
                                    ports_.passwords.verify(g.security_answer_hash, answer)).first;
      }
      if (!it->second) {
        auto r = reject(refusal::kSecurityAnswerWrong, "the answer to the security question is not correct");
        if (!r.ok() && r.error().code == refusal::kSecurityAnswerWrong) {
          Error e = r.error();
          e.field = "security_answer";
          return e;
        }
        return r;
      }
    }
    if (auto e = check_new_password(settings, g, g.login_id(), cmd.new_password)) return *e;
    if (new_hash.empty()) new_hash = ports_.passwords.hash(cmd.new_password);

    Transaction tx;
    tx.append(stream, guardian->expected(), domain::ResetTokenRedeemed{g.id, match->reset_id});
    tx.append(stream, guardian->expected(),
              domain::PasswordChanged{g.id, new_hash, "reset", "", g.session_ids()});
    if (!g.email.empty()) {
      tx.send(domain::password_changed_notice(
          message_context(ctx, ports_, tenant->state(), g), g.email));
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<TemporaryPasswordSent> CommandHandlers::issue_temporary_password(
    const CommandContext& ctx, const IssueTemporaryPassword& cmd) {
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  const auto& t = tenant->state();
  const std::string password = domain::generate_temporary_password(t.settings.password_policy, ports_.random);
  std::string password_hash;
  return with_retries([&]() -> Result<TemporaryPasswordSent> {
    auto guardian = load_guardian(*models_, ctx.tenant, cmd.guardian_id);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    if (auto e = check_may_receive_credentials(g)) return *e;
    if (g.email.empty()) return make_error(refusal::kNoEmailOnFile, "this guardian has no email address on file");
    if (password_hash.empty()) password_hash = ports_.passwords.hash(password);
    const auto now = ports_.clock.now_us();
    const auto expires = now + t.settings.temporary_password_ttl_seconds * kSecond;
    Transaction tx;
    tx.append(streams::guardian(ctx.tenant, g.id), guardian->expected(),
              domain::TemporaryPasswordIssued{g.id, password_hash, expires, domain::mask_email(g.email),
                                              "staff", g.session_ids()});
    tx.send(domain::temporary_password_message(
        message_context(ctx, ports_, t, g), g.email, g.login_id(), password, expires, password_hash));
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return TemporaryPasswordSent{r->last_position, expires};
  });
}

Result<bool> CommandHandlers::message_still_current(const domain::OutboxMessage& message,
                                                    domain::Micros now) {
  if (message.kind != "reset_link" && message.kind != "temporary_password") return true;
  auto guardian = load_guardian(*models_, message.tenant, message.guardian_id);
  if (!guardian) {
    if (guardian.error().code == refusal::kNotFound) return false;
    return guardian.error();
  }
  return domain::still_current(guardian->state(), message, now);
}

}  // namespace latchkey::commands
