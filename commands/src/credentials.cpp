// ChangePassword, ChangeLoginId, SetSecurityQuestion: a guardian in their own session.
#include "common.hpp"

namespace latchkey::commands {
namespace {

Error change_required() {
  return make_error(refusal::kPasswordChangeRequired,
                    "this session may only set a new password or log out");
}

Error current_password_wrong() {
  return make_error(refusal::kCurrentPasswordWrong, "the current password is not correct",
                    "current_password");
}

}  // namespace

Result<Accepted> CommandHandlers::change_password(const CommandContext& ctx, const ChangePassword& cmd) {
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  std::string new_hash;
  std::string verified_against;  // the hash the current password matched
  return with_retries([&]() -> Result<Accepted> {
    auto session = load_session_guardian(*models_, ports_, ctx.tenant, cmd.session_token);
    if (!session) return session.error();
    const auto& g = session->guardian.state();
    // A session opened with a temporary password proved it moments ago; any
    // other change of password needs the current one.
    if (!session->must_change_password && verified_against != g.password_hash) {
      if (g.password_hash.empty() || cmd.current_password.size() > domain::kMaxPasswordBytes ||
          !ports_.passwords.verify(g.password_hash, cmd.current_password)) {
        return current_password_wrong();
      }
      verified_against = g.password_hash;
    }
    if (auto e = check_new_password(tenant->state().settings, g, g.login_id(), cmd.new_password)) return *e;
    if (new_hash.empty()) new_hash = ports_.passwords.hash(cmd.new_password);
    std::vector<std::string> others;
    for (const auto& id : g.session_ids()) {
      if (id != session->session_id) others.push_back(id);
    }
    Transaction tx;
    tx.append(streams::guardian(ctx.tenant, g.id), session->guardian.expected(),
              domain::PasswordChanged{g.id, new_hash, "changed", session->session_id, others});
    if (!g.email.empty()) {
      tx.send(domain::password_changed_notice(
          message_context(ctx, ports_, tenant->state(), g), g.email));
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::change_login_id(const CommandContext& ctx, const ChangeLoginId& cmd) {
  if (auto e = domain::check_login_id(cmd.login_id, "login_id")) return *e;
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  return with_retries([&]() -> Result<Accepted> {
    auto session = load_session_guardian(*models_, ports_, ctx.tenant, cmd.session_token);
    if (!session) return session.error();
    if (session->must_change_password) return change_required();
    const auto& g = session->guardian.state();
    const std::string current = g.login_id();
    if (cmd.login_id == current) return Accepted{store_.head()};

    Transaction tx;
    const auto new_key = domain::login_key(cmd.login_id);
    const bool is_email = new_key == domain::login_key(g.email);
    if (!is_email && new_key != domain::login_key(current)) {
      const auto stream = streams::login(ctx.tenant, cmd.login_id);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (!registry->state().is_free_for(g.id)) {
        return make_error(refusal::kLoginIdTaken, "this login ID is already in use", "login_id");
      }
      tx.append(stream, registry->expected(), domain::LoginIdReserved{cmd.login_id, g.id});
    }
    // The old custom login ID is given back, unless only its case changes.
    // The email's reservation is never given back here: it is the email's.
    if (!g.custom_login_id.empty() && domain::login_key(g.custom_login_id) != new_key &&
        domain::login_key(g.custom_login_id) != domain::login_key(g.email)) {
      const auto stream = streams::login(ctx.tenant, g.custom_login_id);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (registry->state().owner == g.id) {
        tx.append(stream, registry->expected(), domain::LoginIdReleased{g.custom_login_id, g.id});
      }
    }
    tx.append(streams::guardian(ctx.tenant, g.id), session->guardian.expected(),
              domain::LoginIdChanged{g.id, current, cmd.login_id});
    if (!g.email.empty()) {
      tx.send(domain::login_id_changed_notice(
          message_context(ctx, ports_, tenant->state(), g),
          g.email, cmd.login_id));
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::set_security_question(const CommandContext& ctx,
                                                        const SetSecurityQuestion& cmd) {
  if (cmd.question.empty() || cmd.question.size() > 200 || !domain::is_clean_utf8(cmd.question)) {
    return make_error(refusal::kInvalidInput, "the question is 1 to 200 characters of text", "question");
  }
  const std::string answer = normalise_security_answer(cmd.answer);
  if (answer.size() < 2 || answer.size() > 100 || !domain::is_clean_utf8(answer)) {
    return make_error(refusal::kInvalidInput, "the answer is 2 to 100 characters of text", "answer");
  }
  std::string answer_hash;
  std::string verified_against;
  return with_retries([&]() -> Result<Accepted> {
    auto session = load_session_guardian(*models_, ports_, ctx.tenant, cmd.session_token);
    if (!session) return session.error();
    if (session->must_change_password) return change_required();
    const auto& g = session->guardian.state();
    if (verified_against != g.password_hash || g.password_hash.empty()) {
      if (g.password_hash.empty() || cmd.current_password.size() > domain::kMaxPasswordBytes ||
          !ports_.passwords.verify(g.password_hash, cmd.current_password)) {
        return current_password_wrong();
      }
      verified_against = g.password_hash;
    }
    if (answer_hash.empty()) answer_hash = ports_.passwords.hash(answer);
    Transaction tx;
    tx.append(streams::guardian(ctx.tenant, g.id), session->guardian.expected(),
              domain::SecurityQuestionSet{g.id, cmd.question, answer_hash});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

}  // namespace latchkey::commands
