// RegisterFamily, AddGuardian, UpdateGuardianContact, SetLoginAllowed, AddChild.
#include "common.hpp"

namespace latchkey::commands {

Result<Created> CommandHandlers::register_family(const CommandContext& ctx, const RegisterFamily& cmd) {
  if (auto e = domain::check_name(cmd.name, "name")) return *e;
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  const std::string family_id = ports_.random.id();
  Transaction tx;
  tx.append(streams::family(ctx.tenant, family_id), eventstore::ExpectedVersion::no_stream(),
            domain::FamilyRegistered{family_id, cmd.name});
  auto r = commit(*models_, ctx, ports_, tx);
  if (!r) return r.error();
  return Created{r->last_position, family_id};
}

Result<Created> CommandHandlers::add_guardian(const CommandContext& ctx, const AddGuardian& cmd) {
  if (auto e = check_contact(cmd.contact)) return *e;
  const std::string guardian_id = ports_.random.id();
  return with_retries([&]() -> Result<Created> {
    auto family = load_family(*models_, ctx.tenant, cmd.family_id);
    if (!family) return family.error();
    Transaction tx;
    if (!cmd.contact.email.empty()) {
      const auto stream = streams::login(ctx.tenant, cmd.contact.email);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (!registry->state().is_free_for(guardian_id)) {
        return make_error(refusal::kEmailTaken,
                          "another guardian uses this email address (it is their login ID)", "email");
      }
      tx.append(stream, registry->expected(), domain::LoginIdReserved{cmd.contact.email, guardian_id});
    }
    const auto& c = cmd.contact;
    tx.append(streams::guardian(ctx.tenant, guardian_id), eventstore::ExpectedVersion::no_stream(),
              domain::GuardianAdded{guardian_id, cmd.family_id, c.first_name, c.last_name, c.email,
                                    c.phone, c.can_log_in});
    tx.append(streams::family(ctx.tenant, cmd.family_id), family->expected(),
              domain::GuardianLinked{cmd.family_id, guardian_id});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Created{r->last_position, guardian_id};
  });
}

Result<Accepted> CommandHandlers::update_guardian_contact(const CommandContext& ctx,
                                                          const UpdateGuardianContact& cmd) {
  if (cmd.first_name) {
    if (auto e = domain::check_name(*cmd.first_name, "first_name")) return *e;
  }
  if (cmd.last_name) {
    if (auto e = domain::check_name(*cmd.last_name, "last_name")) return *e;
  }
  if (cmd.email) {
    if (auto e = domain::check_email(*cmd.email, "email")) return *e;
  }
  if (cmd.phone) {
    if (auto e = domain::check_phone(*cmd.phone, "phone")) return *e;
  }
  return with_retries([&]() -> Result<Accepted> {
    auto guardian = load_guardian(*models_, ctx.tenant, cmd.guardian_id);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    domain::GuardianContactUpdated ev{g.id, cmd.first_name.value_or(g.first_name),
                                      cmd.last_name.value_or(g.last_name), cmd.email.value_or(g.email),
                                      cmd.phone.value_or(g.phone), g.email, {}};
    if (ev.first_name != g.first_name) ev.changed.emplace_back("first_name");
    if (ev.last_name != g.last_name) ev.changed.emplace_back("last_name");
    if (ev.email != g.email) ev.changed.emplace_back("email");
    if (ev.phone != g.phone) ev.changed.emplace_back("phone");
    if (ev.changed.empty()) return Accepted{store_.head()};

    Transaction tx;
    const bool email_moves = domain::login_key(ev.email) != domain::login_key(g.email);
    if (email_moves && !ev.email.empty()) {
      const auto stream = streams::login(ctx.tenant, ev.email);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (!registry->state().is_free_for(g.id)) {
        return make_error(refusal::kEmailTaken,
                          "another guardian uses this email address (it is their login ID)", "email");
      }
      tx.append(stream, registry->expected(), domain::LoginIdReserved{ev.email, g.id});
    }
    if (email_moves && !g.email.empty()) {
      const auto stream = streams::login(ctx.tenant, g.email);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (registry->state().owner == g.id) {
        tx.append(stream, registry->expected(), domain::LoginIdReleased{g.email, g.id});
      }
    }
    tx.append(streams::guardian(ctx.tenant, g.id), guardian->expected(), ev);
    if (email_moves) {
      auto tenant = load_tenant(*models_, ctx.tenant);
      if (!tenant) return tenant.error();
      for (const auto& to : {g.email, ev.email}) {
        if (to.empty()) continue;
        tx.send(domain::email_changed_notice(
            message_context(ctx, ports_, tenant->state(), g),
            to, g.email, ev.email));
      }
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::set_login_allowed(const CommandContext& ctx, const SetLoginAllowed& cmd) {
  return with_retries([&]() -> Result<Accepted> {
    auto guardian = load_guardian(*models_, ctx.tenant, cmd.guardian_id);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    if (g.can_log_in == cmd.allowed) return Accepted{store_.head()};
    Transaction tx;
    tx.append(streams::guardian(ctx.tenant, g.id), guardian->expected(),
              domain::LoginPermissionChanged{g.id, cmd.allowed,
                                             cmd.allowed ? std::vector<std::string>{} : g.session_ids()});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Created> CommandHandlers::add_child(const CommandContext& ctx, const AddChild& cmd) {
  if (auto e = domain::check_child_id(cmd.child.child_id, "child_id")) return *e;
  if (auto e = domain::check_name(cmd.child.first_name, "first_name")) return *e;
  if (auto e = domain::check_name(cmd.child.last_name, "last_name")) return *e;
  auto family = load_family(*models_, ctx.tenant, cmd.family_id);
  if (!family) return family.error();
  const auto stream = streams::child(ctx.tenant, cmd.child.child_id);
  auto child = models_->load<domain::ChildState>(stream);
  if (!child) return child.error();
  if (child->state().exists) {
    return make_error(refusal::kChildExists, "a child with this ID number exists", "child_id");
  }
  Transaction tx;
  tx.append(stream, eventstore::ExpectedVersion::no_stream(),
            domain::ChildAdded{cmd.child.child_id, cmd.family_id, cmd.child.first_name,
                               cmd.child.last_name});
  auto r = commit(*models_, ctx, ports_, tx);
  if (!r) {
    if (r.error().code == eventstore::kWrongExpectedVersion) {
      return make_error(refusal::kChildExists, "a child with this ID number exists", "child_id");
    }
    return r.error();
  }
  return Created{r->last_position, cmd.child.child_id};
}

}  // namespace latchkey::commands
