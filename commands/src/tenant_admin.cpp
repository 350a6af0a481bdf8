// CreateTenant, ConfigureTenant, AddSmsCredits, IssueApiKey, RevokeApiKey.
#include "common.hpp"

#include <nlohmann/json.hpp>

namespace latchkey::commands {

Result<Accepted> CommandHandlers::create_tenant(const CommandContext& ctx, const CreateTenant& cmd) {
  if (auto e = domain::check_tenant_id(cmd.tenant_id, "id")) return *e;
  if (auto e = domain::check_name(cmd.name, "name")) return *e;
  CommandContext scoped = ctx;
  scoped.tenant = cmd.tenant_id;
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = models_->load<domain::TenantState>(streams::tenant(cmd.tenant_id));
    if (!tenant) return tenant.error();
    if (tenant->state().exists) {
      return make_error(refusal::kTenantExists, "a tenant with this id exists", "id");
    }
    Transaction tx;
    tx.append(streams::tenant(cmd.tenant_id), tenant->expected(),
              domain::TenantCreated{cmd.tenant_id, cmd.name, domain::TenantSettings{}});
    auto r = commit(*models_, scoped, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::configure_tenant(const CommandContext& ctx, const ConfigureTenant& cmd) {
  if (cmd.patch == nullptr) return make_error(refusal::kInvalidSetting, "no settings given");
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    domain::TenantSettings settings = tenant->state().settings;
    auto changed = domain::apply_settings_patch(settings, *cmd.patch);
    if (!changed) return changed.error();
    if (changed->empty()) return Accepted{store_.head()};  // nothing to record
    Transaction tx;
    tx.append(streams::tenant(ctx.tenant), tenant->expected(),
              domain::TenantConfigured{settings, *changed});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::add_sms_credits(const CommandContext& ctx, const AddSmsCredits& cmd) {
  constexpr std::int64_t kMaxAdd = 1'000'000;
  if (cmd.amount <= 0 || cmd.amount > kMaxAdd) {
    return make_error(refusal::kInvalidInput, "amount must be between 1 and 1000000", "amount");
  }
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    Transaction tx;
    tx.append(streams::tenant(ctx.tenant), tenant->expected(),
              domain::SmsCreditsAdded{cmd.amount, tenant->state().sms_balance + cmd.amount});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<IssuedApiKey> CommandHandlers::issue_api_key(const CommandContext& ctx, const IssueApiKey& cmd) {
  if (auto e = domain::check_name(cmd.name, "name")) return *e;
  if (!domain::is_role(cmd.role)) {
    return make_error(refusal::kInvalidInput, "role must be admin, staff, registrar or auditor", "role");
  }
  const std::string key_id = ports_.random.id();
  const std::string key = make_located_token(ports_, key_id);
  const std::string key_hash = ports_.tokens.hash(key);
  return with_retries([&]() -> Result<IssuedApiKey> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    Transaction tx;
    tx.append(streams::tenant(ctx.tenant), tenant->expected(),
              domain::ApiKeyIssued{key_id, cmd.name, cmd.role, key_hash});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return IssuedApiKey{r->last_position, key_id, cmd.name, cmd.role, key};
  });
}

Result<Accepted> CommandHandlers::revoke_api_key(const CommandContext& ctx, const RevokeApiKey& cmd) {
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    auto it = tenant->state().api_keys.find(cmd.key_id);
    if (it == tenant->state().api_keys.end()) return not_found("API key");
    if (it->second.revoked) return Accepted{store_.head()};  // already revoked: nothing to record
    Transaction tx;
    tx.append(streams::tenant(ctx.tenant), tenant->expected(), domain::ApiKeyRevoked{cmd.key_id});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<ApiKeyPrincipal> CommandHandlers::authenticate_api_key(std::string_view tenant,
                                                              std::string_view key) {
  auto invalid = [] { return make_error(refusal::kInvalidApiKey, "the API key is not valid"); };
  auto located = domain::split_located_secret(key);
  if (!located || domain::check_tenant_id(tenant)) return invalid();
  auto state = models_->load<domain::TenantState>(streams::tenant(tenant));
  if (!state) return state.error();
  auto it = state->state().api_keys.find(located->id);
  const std::string presented = ports_.tokens.hash(key);
  if (it == state->state().api_keys.end() || it->second.revoked ||
      !domain::constant_time_equal(it->second.key_hash, presented)) {
    return invalid();
  }
  return ApiKeyPrincipal{it->second.key_id, it->second.name, it->second.role};
}

}  // namespace latchkey::commands
