// PublishPolicy, AcceptPolicy (guardian, electronically), ManuallyAcceptPolicy (staff, on paper).
#include <sodium.h>

#include <algorithm>

#include "common.hpp"
#include "latchkey/domain/encoding.hpp"

namespace latchkey::commands {
namespace {

constexpr std::size_t kMaxPolicyText = 60000;

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error policy_unknown() { return make_error(refusal::kPolicyUnknown, "no such policy or policy version", "version"); }

Error already_accepted() {
  return make_error(refusal::kAlreadyAccepted, "this family has already accepted this policy version");
}

}  // namespace

Result<Accepted> CommandHandlers::publish_policy(const CommandContext& ctx, const PublishPolicy& cmd) {
  if (auto e = domain::check_id(cmd.policy_id, "policy_id")) return *e;
  if (auto e = domain::check_name(cmd.title, "title")) return *e;
  if (cmd.version < 1 || cmd.version > 1'000'000) {
    return make_error(refusal::kInvalidInput, "version is a whole number from 1", "version");
  }
  std::string sha = cmd.text_sha256;
  if (!cmd.text.empty()) {
    if (cmd.text.size() > kMaxPolicyText) {
      return make_error(refusal::kInvalidInput, "text is at most 60000 bytes", "text");
    }
    std::uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(cmd.text.data()), cmd.text.size());
    std::string computed = domain::hex_encode(digest);
    if (!sha.empty() && sha != computed) {
      return make_error(refusal::kInvalidInput, "text_sha256 does not match the text", "text_sha256");
    }
    sha = computed;
  }
  if (!is_sha256_hex(sha)) {
    return make_error(refusal::kInvalidInput, "give the policy text or its SHA-256 as 64 lower-case hex digits",
                      "text_sha256");
  }
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    auto it = tenant->state().policies.find(cmd.policy_id);
    if (it != tenant->state().policies.end() && cmd.version <= it->second.latest_version()) {
      return make_error(refusal::kPolicyVersionExists,
                        "version " + std::to_string(cmd.version) + " is not newer than the published version " +
                            std::to_string(it->second.latest_version()),
                        "version");
    }
    Transaction tx;
    tx.append(streams::tenant(ctx.tenant), tenant->expected(),
              domain::PolicyPublished{cmd.policy_id, cmd.title, cmd.version, sha});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::accept_policy(const CommandContext& ctx, const AcceptPolicy& cmd) {
  return with_retries([&]() -> Result<Accepted> {
    auto session = load_session_guardian(*models_, ports_, ctx.tenant, cmd.session_token);
    if (!session) return session.error();
    if (session->must_change_password) {
      return make_error(refusal::kPasswordChangeRequired, "this session may only set a new password or log out");
    }
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    auto p = tenant->state().policies.find(cmd.policy_id);
    if (p == tenant->state().policies.end() || !p->second.versions.contains(cmd.version)) return policy_unknown();
    const auto& g = session->guardian.state();
    auto family = load_family(*models_, ctx.tenant, g.family_id);
    if (!family) return family.error();
    if (family->state().accepted.contains({cmd.policy_id, cmd.version})) return already_accepted();
    Transaction tx;
    tx.append(streams::family(ctx.tenant, g.family_id), family->expected(),
              domain::PolicyAccepted{g.family_id, cmd.policy_id, cmd.version, g.id});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

Result<Accepted> CommandHandlers::manually_accept_policy(const CommandContext& ctx,
                                                         const ManuallyAcceptPolicy& cmd) {
  const auto reason = domain::trim(cmd.reason);
  if (reason.empty()) {
    return make_error(refusal::kReasonRequired,
                      "say why the policy counts as accepted, e.g. \"signed printed form on file\"", "reason");
  }
  if (reason.size() > domain::kMaxReasonBytes || !domain::is_clean_utf8(reason)) {
    return make_error(refusal::kInvalidInput, "the reason is at most 500 bytes of text", "reason");
  }
  return with_retries([&]() -> Result<Accepted> {
    auto tenant = load_tenant(*models_, ctx.tenant);
    if (!tenant) return tenant.error();
    auto p = tenant->state().policies.find(cmd.policy_id);
    if (p == tenant->state().policies.end() || !p->second.versions.contains(cmd.version)) return policy_unknown();
    auto family = load_family(*models_, ctx.tenant, cmd.family_id);
    if (!family) return family.error();
    if (family->state().accepted.contains({cmd.policy_id, cmd.version})) return already_accepted();
    Transaction tx;
    tx.append(streams::family(ctx.tenant, cmd.family_id), family->expected(),
              domain::PolicyManuallyAccepted{cmd.family_id, cmd.policy_id, cmd.version, ctx.actor.id,
                                             ctx.actor.name, std::string(reason)});
    auto r = commit(*models_, ctx, ports_, tx);
    if (!r) return r.error();
    return Accepted{r->last_position};
  });
}

}  // namespace latchkey::commands
