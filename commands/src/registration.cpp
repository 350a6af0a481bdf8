// Online registration (family, guardians, children and portal accounts in one
// atomic append) and RegisterPortalAccount for an existing guardian.
#include <map>
#include <set>

#include "common.hpp"

namespace latchkey::commands {
namespace {

// The login ID a registering guardian will use, and whether it is custom.
std::string chosen_login_id(const std::string& login_id, const std::string& email) {
  return login_id.empty() ? email : login_id;
}

}  // namespace

Result<Registered> CommandHandlers::register_online(const CommandContext& ctx, const Register& cmd) {
  constexpr std::size_t kMaxGuardians = 10, kMaxChildren = 20;
  if (auto e = domain::check_name(cmd.family_name, "family_name")) return *e;
  if (cmd.guardians.empty() || cmd.guardians.size() > kMaxGuardians) {
    return make_error(refusal::kInvalidInput, "a registration has 1 to 10 guardians", "guardians");
  }
  if (cmd.children.size() > kMaxChildren) {
    return make_error(refusal::kInvalidInput, "a registration has at most 20 children", "children");
  }
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();

  // Everything that does not depend on other records first, and the slow
  // hashing once, outside the retry loop.
  std::set<std::string> child_ids;
  std::map<std::string, std::size_t> login_owner;  // login key → guardian index
  auto claim_once = [&](const std::string& login, std::size_t index, const char* code,
                        const std::string& field) -> std::optional<Error> {
    auto [it, inserted] = login_owner.emplace(domain::login_key(login), index);
    if (inserted || it->second == index) return std::nullopt;
    return make_error(code, "two guardians of this registration share an email or login ID", field);
  };
  std::vector<std::string> guardian_ids, password_hashes;
  for (std::size_t i = 0; i < cmd.guardians.size(); ++i) {
    const auto& g = cmd.guardians[i];
    const std::string at = "guardians[" + std::to_string(i) + "].";
    if (auto e = check_contact(g.contact)) {
      e->field = at + e->field;
      return *e;
    }
    const std::string login_id = chosen_login_id(g.login_id, g.contact.email);
    if (!g.password.empty()) {
      if (login_id.empty()) {
        return make_error(refusal::kInvalidInput, "a portal account needs an email or a login ID",
                          at + "login_id");
      }
      if (auto e = domain::check_login_id(login_id, at + "login_id")) return *e;
      domain::GuardianState probe;
      probe.email = g.contact.email;
      probe.first_name = g.contact.first_name;
      probe.last_name = g.contact.last_name;
      if (auto e = check_new_password(tenant->state().settings, probe, login_id, g.password)) {
        e->field = at + "password";
        return *e;
      }
    }
    if (!g.contact.email.empty()) {
      if (auto e = claim_once(g.contact.email, i, refusal::kEmailTaken, at + "email")) return *e;
    }
    if (!g.password.empty() && domain::login_key(login_id) != domain::login_key(g.contact.email)) {
      if (auto e = claim_once(login_id, i, refusal::kLoginIdTaken, at + "login_id")) return *e;
    }
    guardian_ids.push_back(ports_.random.id());
  }
  for (std::size_t i = 0; i < cmd.children.size(); ++i) {
    const auto& c = cmd.children[i];
    const std::string at = "children[" + std::to_string(i) + "].";
    if (auto e = domain::check_child_id(c.child_id, at + "child_id")) return *e;
    if (auto e = domain::check_name(c.first_name, at + "first_name")) return *e;
    if (auto e = domain::check_name(c.last_name, at + "last_name")) return *e;
    if (!child_ids.insert(c.child_id).second) {
      return make_error(refusal::kChildExists, "the same child ID is given twice", at + "child_id");
    }
  }
  for (const auto& g : cmd.guardians) {
    password_hashes.push_back(g.password.empty() ? std::string() : ports_.passwords.hash(g.password));
  }
  const std::string family_id = ports_.random.id();

  return with_retries([&]() -> Result<Registered> {
    Transaction tx;
    const auto family_stream = streams::family(ctx.tenant, family_id);
    tx.append(family_stream, eventstore::ExpectedVersion::no_stream(),
              domain::FamilyRegistered{family_id, cmd.family_name});
    for (std::size_t i = 0; i < cmd.guardians.size(); ++i) {
      const auto& g = cmd.guardians[i];
      const auto& gid = guardian_ids[i];
      const std::string at = "guardians[" + std::to_string(i) + "].";
      auto reserve = [&](const std::string& login_id, const char* code, const std::string& field) -> Result<void> {
        const auto stream = streams::login(ctx.tenant, login_id);
        auto registry = models_->load<domain::LoginIdState>(stream);
        if (!registry) return registry.error();
        if (!registry->state().is_free_for(gid)) {
          return make_error(code, "this " + std::string(code == refusal::kEmailTaken ? "email" : "login ID") +
                                      " is already in use", field);
        }
        tx.append(stream, registry->expected(), domain::LoginIdReserved{login_id, gid});
        return {};
      };
      if (!g.contact.email.empty()) {
        if (auto r = reserve(g.contact.email, refusal::kEmailTaken, at + "email"); !r) return r.error();
      }
      const auto gstream = streams::guardian(ctx.tenant, gid);
      const auto& c = g.contact;
      tx.append(gstream, eventstore::ExpectedVersion::no_stream(),
                domain::GuardianAdded{gid, family_id, c.first_name, c.last_name, c.email, c.phone,
                                      c.can_log_in});
      if (!g.password.empty()) {
        const std::string login_id = chosen_login_id(g.login_id, g.contact.email);
        if (domain::login_key(login_id) != domain::login_key(g.contact.email)) {
          if (auto r = reserve(login_id, refusal::kLoginIdTaken, at + "login_id"); !r) return r.error();
        }
        tx.append(gstream, eventstore::ExpectedVersion::any(), domain::PortalAccountRegistered{gid, login_id, password_hashes[i]});
      }
      tx.append(family_stream, eventstore::ExpectedVersion::any(), domain::GuardianLinked{family_id, gid});
    }
    for (std::size_t i = 0; i < cmd.children.size(); ++i) {
      const auto& c = cmd.children[i];
      const auto stream = streams::child(ctx.tenant, c.child_id);
      auto child = models_->load<domain::ChildState>(stream);
      if (!child) return child.error();
      if (child->state().exists) {
        return make_error(refusal::kChildExists, "a child with this ID number exists",
                          "children[" + std::to_string(i) + "].child_id");
      }
      tx.append(stream, child->expected(),
                domain::ChildAdded{c.child_id, family_id, c.first_name, c.last_name});
    }
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    std::vector<std::string> children;
    for (const auto& c : cmd.children) children.push_back(c.child_id);
    return Registered{r->last_position, family_id, guardian_ids, children};
  });
}

Result<Accepted> CommandHandlers::register_portal_account(const CommandContext& ctx,
                                                          const RegisterPortalAccount& cmd) {
  if (!cmd.login_id.empty()) {
    if (auto e = domain::check_login_id(cmd.login_id, "login_id")) return *e;
  }
  auto tenant = load_tenant(*models_, ctx.tenant);
  if (!tenant) return tenant.error();
  std::string password_hash;  // computed once the checks pass, reused by retries
  return with_retries([&]() -> Result<Accepted> {
    auto guardian = load_guardian(*models_, ctx.tenant, cmd.guardian_id);
    if (!guardian) return guardian.error();
    const auto& g = guardian->state();
    if (auto e = check_may_receive_credentials(g)) return *e;
    // A used temporary password leaves no credential, but the account stays.
    if (g.has_credentials() || g.must_change_password) {
      return make_error(refusal::kAlreadyRegistered, "this guardian already has a portal account");
    }
    const std::string login_id = cmd.login_id.empty() ? g.email : cmd.login_id;
    if (login_id.empty()) {
      return make_error(refusal::kInvalidInput, "a guardian without an email needs a login ID", "login_id");
    }
    if (auto e = check_new_password(tenant->state().settings, g, login_id, cmd.password)) {
      e->field = "password";
      return *e;
    }
    Transaction tx;
    if (domain::login_key(login_id) != domain::login_key(g.email)) {
      const auto stream = streams::login(ctx.tenant, login_id);
      auto registry = models_->load<domain::LoginIdState>(stream);
      if (!registry) return registry.error();
      if (!registry->state().is_free_for(g.id)) {
        return make_error(refusal::kLoginIdTaken, "this login ID is already in use", "login_id");
      }
      tx.append(stream, registry->expected(), domain::LoginIdReserved{login_id, g.id});
    }
    if (password_hash.empty()) password_hash = ports_.passwords.hash(cmd.password);
    tx.append(streams::guardian(ctx.tenant, g.id), guardian->expected(),
              domain::PortalAccountRegistered{g.id, login_id, password_hash});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

}  // namespace latchkey::commands
