// ResetPortalLogin (staff, one or many guardians) and ClaimAccount (the
// guardian re-registers by proving a child ID and their exact name).
#include <set>

#include "common.hpp"

namespace latchkey::commands {

std::vector<PortalLoginResetResult> CommandHandlers::reset_portal_login(const CommandContext& ctx,
                                                                        const ResetPortalLogin& cmd) {
  std::vector<PortalLoginResetResult> results;
  std::set<std::string> seen;
  for (const auto& guardian_id : cmd.guardian_ids) {
    if (!seen.insert(guardian_id).second) continue;  // the MMS grid lists a parent once per child
    PortalLoginResetResult out{guardian_id, "reset", 0, ""};
    auto r = with_retries([&]() -> Result<Accepted> {
      auto guardian = load_guardian(*models_, ctx.tenant, guardian_id);
      if (!guardian) return guardian.error();
      const auto& g = guardian->state();
      Transaction tx;
      if (!g.custom_login_id.empty() && domain::login_key(g.custom_login_id) != domain::login_key(g.email)) {
        const auto stream = streams::login(ctx.tenant, g.custom_login_id);
        auto registry = models_->load<domain::LoginIdState>(stream);
        if (!registry) return registry.error();
        if (registry->state().owner == g.id) {
          tx.append(stream, registry->expected(), domain::LoginIdReleased{g.custom_login_id, g.id});
        }
      }
      tx.append(streams::guardian(ctx.tenant, g.id), guardian->expected(),
                domain::PortalLoginReset{g.id, g.custom_login_id, g.session_ids()});
      auto c = commit(*models_, ctx, ports_, tx);
      if (!c) return c.error();
      return Accepted{c->last_position};
    });
    if (r) {
      out.position = r->position;
    } else if (r.error().code == refusal::kNotFound) {
      out.status = "not_found";
    } else {
      out.status = "failed";
      out.error = r.error().code;
    }
    results.push_back(std::move(out));
  }
  return results;
}

Result<SelfServiceDone> CommandHandlers::claim_account(const CommandContext& ctx, const ClaimAccount& cmd) {
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  const auto& t = tenant->state();
  // The temporary password is drawn and hashed on every path, so that a
  // rejected claim costs what an accepted one does.
  const std::string password = domain::generate_temporary_password(t.settings.password_policy, ports_.random);
  const std::string password_hash = ports_.passwords.hash(password);
  if (domain::check_child_id(cmd.child_id) || domain::check_name(cmd.first_name, "first_name") ||
      domain::check_name(cmd.last_name, "last_name")) {
    return SelfServiceDone{0};
  }
  const auto child_stream = streams::child(ctx.tenant, cmd.child_id);

  return with_retries([&]() -> Result<SelfServiceDone> {
    auto child = models_->load<domain::ChildState>(child_stream);
    if (!child) return child.error();
    if (!child->state().exists) return SelfServiceDone{0};
    auto family = load_family(*models_, ctx.tenant, child->state().family_id);
    if (!family) return family.error();

    // Exact first and last name, as recorded on the contact record.
    std::optional<Loaded<domain::GuardianState>> match;
    for (const auto& gid : family->state().guardian_ids) {
      auto g = load_guardian(*models_, ctx.tenant, gid);
      if (!g) return g.error();
      if (g->state().first_name == cmd.first_name && g->state().last_name == cmd.last_name &&
          (!match || g->state().reset_required)) {
        match = std::move(*g);
      }
    }
    Transaction tx;
    auto rejected = [&](const std::string& stream, eventstore::ExpectedVersion expected,
                        std::string guardian_id, const char* reason) -> Result<SelfServiceDone> {
      tx.append(stream, expected, domain::AccountClaimRejected{cmd.child_id, std::move(guardian_id), reason});
      auto r = commit(*models_, ctx, ports_, tx);
      if (!r) return r.error();
      return SelfServiceDone{r->last_position};
    };
    if (!match) return rejected(child_stream, child->expected(), "", "name_mismatch");
    const auto& g = match->state();
    const auto gstream = streams::guardian(ctx.tenant, g.id);
    if (!g.reset_required) return rejected(gstream, match->expected(), g.id, "not_reset");
    if (!g.can_log_in) return rejected(gstream, match->expected(), g.id, "login_not_allowed");
    if (g.email.empty()) return rejected(gstream, match->expected(), g.id, "no_email");
    const std::string login_id = cmd.login_id.empty() ? g.email : cmd.login_id;
    if (domain::check_login_id(login_id)) return rejected(gstream, match->expected(), g.id, "invalid_login_id");
    if (domain::login_key(login_id) != domain::login_key(g.email)) {
      const auto stream = streams::login(ctx.tenant, login_id);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (!registry->state().is_free_for(g.id)) return rejected(gstream, match->expected(), g.id, "login_id_taken");
      tx.append(stream, registry->expected(), domain::LoginIdReserved{login_id, g.id});
    }
    const auto now = ports_.clock.now_us();
    const auto expires = now + t.settings.temporary_password_ttl_seconds * domain::kMicrosPerSecond;
    tx.append(gstream, match->expected(), domain::AccountClaimed{g.id, login_id, cmd.child_id});
    tx.append(gstream, match->expected(),
              domain::TemporaryPasswordIssued{g.id, password_hash, expires, domain::mask_email(g.email),
                                              "claim", g.session_ids()});
    tx.send(domain::temporary_password_message(
        message_context(ctx, ports_, t, g), g.email, login_id, password, expires, password_hash));
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return SelfServiceDone{r->last_position};
  });
}

}  // namespace latchkey::commands
