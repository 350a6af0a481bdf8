// LogIn, LogOut, and guardian session authentication.
#include <map>

#include "common.hpp"

namespace latchkey::commands {
namespace {

Error invalid_credentials() {
  return make_error(refusal::kInvalidCredentials, "the login or password is not correct");
}

}  // namespace

Result<LoggedIn> CommandHandlers::log_in(const CommandContext& ctx, const LogIn& cmd) {
  if (cmd.login.empty() || cmd.login.size() > domain::kMaxEmailBytes ||
      cmd.password.size() > domain::kMaxPasswordBytes) {
    burn_password_check(cmd.password);
    return invalid_credentials();
  }
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  auto registry = models_->load<domain::LoginIdState>(streams::login(ctx.tenant, cmd.login));
  if (!registry) return registry.error();
  if (registry->state().owner.empty()) {
    burn_password_check(cmd.password);
    return invalid_credentials();
  }
  const auto& settings = tenant->state().settings;

  // Verification is slow; remember answers per hash across retries.
  std::map<std::string, bool> verified;
  bool burned = false;
  auto verify = [&](const std::string& hash) {
    auto it = verified.find(hash);
    if (it == verified.end()) it = verified.emplace(hash, ports_.passwords.verify(hash, cmd.password)).first;
    return it->second;
  };

  return with_retries([&]() -> Result<LoggedIn> {
    auto guardian = load_guardian(*models_, ctx.tenant, registry->state().owner);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    const auto now = ports_.clock.now_us();
    const auto stream = streams::guardian(ctx.tenant, g.id);
    Transaction tx;
    auto fail = [&](std::string reason, std::int64_t failed_count) -> Result<LoggedIn> {
      tx.append(stream, guardian->expected(), domain::LoginFailed{g.id, std::move(reason), failed_count});
      auto r = commit(*models_, ctx, ports_, tx);
      if (!r) return r.error();
      return invalid_credentials();
    };

    std::string blocked;
    if (!g.can_log_in) {
      blocked = "login_not_allowed";
    } else if (g.reset_required) {
      blocked = "reset_required";
    } else if (g.is_locked(now)) {
      blocked = "locked";
    } else if (!g.has_credentials()) {
      blocked = "no_password";
    }
    if (!blocked.empty()) {
      if (!burned && verified.empty()) burn_password_check(cmd.password);  // once per command, not per retry
      burned = true;
      return fail(blocked, g.failed_login_count);
    }

    std::string via;
    if (!g.password_hash.empty() && verify(g.password_hash)) {
      via = "password";
    } else if (!g.temporary_password_hash.empty() && verify(g.temporary_password_hash)) {
      if (g.temporary_password_expires_at_us <= now) return fail("temporary_password_expired", g.failed_login_count);
      via = "temporary_password";
    }
    if (via.empty()) {
      const std::int64_t failures = g.failed_login_count + 1;
      tx.append(stream, guardian->expected(), domain::LoginFailed{g.id, "wrong_password", failures});
      if (failures >= settings.lockout.max_failures) {
        tx.append(stream, guardian->expected(),
                  domain::AccountLockedOut{g.id, now + settings.lockout.lock_seconds * domain::kMicrosPerSecond,
                                           failures});
      }
      auto r = commit(*models_, ctx, ports_, tx);
      if (!r) return r.error();
      return invalid_credentials();
    }

    domain::LoginSucceeded ok;
    ok.guardian_id = g.id;
    ok.session_id = ports_.random.id();
    const std::string token = make_located_token(ports_, g.id);
    ok.token_hash = ports_.tokens.hash(token);
    ok.expires_at_us = now + settings.session_ttl_seconds * domain::kMicrosPerSecond;
    ok.login_id = g.login_id();
    ok.first_login = !g.has_logged_in;
    ok.via = via;
    ok.must_change_password = via == "temporary_password" || g.must_change_password;
    ok.login_count = g.login_count + 1;
    for (auto& oldest : g.sessions_to_end_for_login(now)) {
      tx.append(stream, guardian->expected(), domain::SessionEnded{g.id, std::move(oldest), "session_limit"});
    }
    tx.append(stream, guardian->expected(), ok);
    if (via == "password" && ports_.passwords.needs_rehash(g.password_hash)) {
      tx.append(stream, guardian->expected(),
                domain::PasswordRehashed{g.id, ports_.passwords.hash(cmd.password)});
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return LoggedIn{r->last_position, token, g.id, ok.must_change_password, ok.expires_at_us};
  });
}

Result<Accepted> CommandHandlers::log_out(const CommandContext& ctx, const LogOut& cmd) {
  return with_retries([&]() -> Result<Accepted> {
    auto session = load_session_guardian(*models_, ports_, ctx.tenant, cmd.session_token);
    if (!session) return session.error();
    const auto& g = session->guardian.state();
    Transaction tx;
    tx.append(streams::guardian(ctx.tenant, g.id), session->guardian.expected(),
              domain::SessionEnded{g.id, session->session_id, "logout"});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<GuardianPrincipal> CommandHandlers::authenticate_session(std::string_view tenant,
                                                                std::string_view token) {
  auto session = load_session_guardian(*models_, ports_, tenant, token);
  if (!session) return session.error();
  return GuardianPrincipal{session->guardian.state().id, session->session_id, session->must_change_password};
}

}  // namespace latchkey::commands
