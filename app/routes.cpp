// The routes of SPEC §6: each decodes its input strictly, calls one command
// handler or read model, and renders the answer. Nothing else happens here;
// authentication, roles, idempotency and scheduling are in api.cpp.
#include <spdlog/spdlog.h>

#include "api_internal.hpp"
#include "latchkey/domain/encoding.hpp"

namespace latchkey::app {
namespace {

using nlohmann::json;
using http::Response;

// Parses the body (one JSON object) into `f`, or returns its 400.
#define LK_BODY(c, empty_ok)                               \
  auto parsed_body = parse_body((c).request.body, empty_ok); \
  if (!parsed_body) return problem_of(parsed_body.error()); \
  Fields f(*parsed_body)

// Returns the first problem with the fields read (or an unknown field) as its 400.
#define LK_FINISH(f)                                \
  if (auto invalid = (f).finish()) return problem_of(*invalid)

template <class T, class Render>
Response answer(const Result<T>& r, int status, Render render) {
  if (!r.ok()) return problem_of(r.error());
  return json_response(status, render(*r));
}

Response accepted(const Result<commands::Accepted>& r, int status = 202) {
  return answer(r, status, [](const commands::Accepted& a) { return json{{"position", a.position}}; });
}

Response read(const Result<json>& r) {
  return answer(r, 200, [](const json& j) -> const json& { return j; });
}

std::optional<std::size_t> limit_of(const Api::Call& c, std::size_t fallback, std::size_t max) {
  const auto* v = c.query_value("limit");
  if (v == nullptr) return fallback;
  try {
    std::size_t used = 0;
    auto n = std::stoul(*v, &used);
    if (used != v->size() || n < 1 || n > max) return std::nullopt;
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string query_or(const Api::Call& c, std::string_view name) {
  const auto* v = c.query_value(name);
  return v ? *v : std::string();
}

Response bad_limit(std::size_t max) {
  return problem_of(invalid_field("limit", "limit must be an integer from 1 to " + std::to_string(max)));
}

commands::GuardianContact contact_of(Fields& f) {
  commands::GuardianContact contact;
  contact.first_name = f.string("first_name");
  contact.last_name = f.string("last_name");
  contact.email = f.optional_string("email").value_or("");
  contact.phone = f.optional_string("phone").value_or("");
  contact.can_log_in = f.optional_boolean("can_log_in").value_or(true);
  return contact;
}

}  // namespace

void Api::add_routes() {
  // ---- health and operations ----
  add("GET", "/healthz", kOpen, kInline, [](Call&) { return json_response(200, {{"status", "ok"}}); });
  add("GET", "/readyz", kOpen, kInline, [this](Call&) {
    const auto head = deps_.store.head();
    const auto applied = deps_.runner.applied();
    if (!ready_.load()) {
      return json_response(503, {{"status", "starting"}, {"position", head}, {"applied", applied}});
    }
    return json_response(200, {{"status", "ready"}, {"position", head}, {"applied", applied}});
  });
  add("GET", "/metrics", kOpen, kInline, [this](Call&) { return metrics_text(); });
  if (options_.dev_clock) {
    add("POST", "/v1/dev/clock", kOpen, kInline, [this](Call& c) {
      LK_BODY(c, false);
      auto seconds = f.integer("advance_seconds");
      LK_FINISH(f);
      if (seconds < 0 || seconds > 10LL * 365 * 24 * 3600) {
        return problem_of(invalid_field("advance_seconds", "advance_seconds is 0 to ten years"));
      }
      deps_.clock.advance(seconds * domain::kMicrosPerSecond);
      spdlog::warn("dev clock moved forward {} s", seconds);
      return json_response(200, {{"now", domain::format_time(deps_.clock.now_us())}});
    });
  }

  // ---- tenants (the platform key) ----
  add("POST", "/v1/tenants", kPlatform, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::CreateTenant cmd{f.string("id"), f.string("name")};
    auto admin_name = f.optional_string("admin_key_name").value_or("First admin");
    LK_FINISH(f);
    auto created = deps_.commands.create_tenant(c.ctx, cmd);
    if (!created) return problem_of(created.error());
    // The tenant's first admin key, shown this once.
    commands::CommandContext scoped = c.ctx;
    scoped.tenant = cmd.tenant_id;
    auto key = deps_.commands.issue_api_key(scoped, {admin_name, "admin"});
    if (!key) return problem_of(key.error());
    return json_response(201, {{"id", cmd.tenant_id},
                               {"name", cmd.name},
                               {"position", key->position},
                               {"admin_key",
                                {{"id", key->key_id},
                                 {"name", key->name},
                                 {"role", key->role},
                                 {"key", "lk_" + cmd.tenant_id + "~" + key->key}}}});
  });

  // ---- tenant administration ----
  add("GET", "/v1/t/{t}/settings", kAdmin, kQuery, [this](Call& c) { return read(deps_.reads.settings(c.tenant)); });
  add("PATCH", "/v1/t/{t}/settings", kAdmin, kCommand, [this](Call& c) {
    auto patch = parse_body(c.request.body);
    if (!patch) return problem_of(patch.error());
    return accepted(deps_.commands.configure_tenant(c.ctx, {&*patch}));
  });
  add("GET", "/v1/t/{t}/sms-credits", kAdmin, kQuery, [this](Call& c) {
    auto limit = limit_of(c, 100, 1000);
    if (!limit) return bad_limit(1000);
    return read(deps_.reads.sms_credits(c.tenant, query_or(c, "cursor"), *limit));
  });
  add("POST", "/v1/t/{t}/sms-credits", kAdmin, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::AddSmsCredits cmd{f.integer("amount")};
    LK_FINISH(f);
    return accepted(deps_.commands.add_sms_credits(c.ctx, cmd), 201);
  });
  add("POST", "/v1/t/{t}/api-keys", kAdmin | kPlatform, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::IssueApiKey cmd{f.string("name"), f.string("role")};
    LK_FINISH(f);
    return answer(deps_.commands.issue_api_key(c.ctx, cmd), 201, [&](const commands::IssuedApiKey& k) {
      return json{{"id", k.key_id},
                  {"name", k.name},
                  {"role", k.role},
                  {"key", "lk_" + c.tenant + "~" + k.key},
                  {"position", k.position}};
    });
  });
  add("DELETE", "/v1/t/{t}/api-keys/{id}", kAdmin | kPlatform, kCommand, [this](Call& c) {
    forget_keys();
    auto revoked = deps_.commands.revoke_api_key(c.ctx, {c.param("id")});
    forget_keys();
    return accepted(revoked);
  });
  add("POST", "/v1/t/{t}/policies", kAdmin, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::PublishPolicy cmd;
    cmd.policy_id = f.string("policy_id");
    cmd.title = f.string("title");
    cmd.version = f.integer("version");
    cmd.text = f.optional_string("text", 60 * 1024).value_or("");
    cmd.text_sha256 = f.optional_string("text_sha256").value_or("");
    LK_FINISH(f);
    return accepted(deps_.commands.publish_policy(c.ctx, cmd), 201);
  });

  // ---- families, guardians, children ----
  add("POST", "/v1/t/{t}/families", kStaff | kRegistrar, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::RegisterFamily cmd{f.string("name")};
    LK_FINISH(f);
    return answer(deps_.commands.register_family(c.ctx, cmd), 201, [](const commands::Created& x) {
      return json{{"family_id", x.id}, {"position", x.position}};
    });
  });
  add("GET", "/v1/t/{t}/families/{f}", kStaff, kQuery,
      [this](Call& c) { return read(deps_.reads.family(c.tenant, c.param("f"))); });
  add("POST", "/v1/t/{t}/families/{f}/guardians", kStaff | kRegistrar, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::AddGuardian cmd{c.param("f"), contact_of(f)};
    LK_FINISH(f);
    return answer(deps_.commands.add_guardian(c.ctx, cmd), 201, [](const commands::Created& x) {
      return json{{"guardian_id", x.id}, {"position", x.position}};
    });
  });
  add("POST", "/v1/t/{t}/families/{f}/children", kStaff | kRegistrar, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::AddChild cmd{c.param("f"), {f.string("child_id"), f.string("first_name"), f.string("last_name")}};
    LK_FINISH(f);
    return answer(deps_.commands.add_child(c.ctx, cmd), 201, [](const commands::Created& x) {
      return json{{"child_id", x.id}, {"position", x.position}};
    });
  });
  add("GET", "/v1/t/{t}/families/{f}/policies", kStaff, kQuery,
      [this](Call& c) { return read(deps_.reads.family_policies(c.tenant, c.param("f"))); });
  add("GET", "/v1/t/{t}/guardians", kStaff, kQuery, [this](Call& c) {
    projections::GuardianSearch q;
    q.last_name_prefix = query_or(c, "last_name_prefix");
    q.letter = query_or(c, "letter");
    q.cursor = query_or(c, "cursor");
    auto limit = limit_of(c, 50, 500);
    if (!limit) return bad_limit(500);
    q.limit = *limit;
    return read(deps_.reads.search_guardians(c.tenant, q));
  });
  add("GET", "/v1/t/{t}/guardians/{g}", kStaff, kQuery, [this](Call& c) {
    auto text = deps_.reads.guardian_text(c.tenant, c.param("g"));
    if (!text) return problem_of(text.error());
    Response r;
    r.body = std::move(*text);
    return r;
  });
  add("PATCH", "/v1/t/{t}/guardians/{g}", kStaff | kRegistrar, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::UpdateGuardianContact cmd;
    cmd.guardian_id = c.param("g");
    cmd.first_name = f.optional_string("first_name");
    cmd.last_name = f.optional_string("last_name");
    cmd.email = f.optional_string("email");
    cmd.phone = f.optional_string("phone");
    LK_FINISH(f);
    return accepted(deps_.commands.update_guardian_contact(c.ctx, cmd));
  });
  add("PUT", "/v1/t/{t}/guardians/{g}/can-log-in", kStaff, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::SetLoginAllowed cmd{c.param("g"), f.boolean("can_log_in")};
    LK_FINISH(f);
    return accepted(deps_.commands.set_login_allowed(c.ctx, cmd));
  });
  add("GET", "/v1/t/{t}/guardians/{g}/history", kStaff | kAuditor, kQuery, [this](Call& c) {
    auto exists = deps_.reads.guardian(c.tenant, c.param("g"));
    if (!exists) return problem_of(exists.error());
    projections::AuditQuery q;
    q.subject = c.param("g");
    q.cursor = query_or(c, "cursor");
    auto limit = limit_of(c, 100, 1000);
    if (!limit) return bad_limit(1000);
    q.limit = *limit;
    return read(deps_.reads.audit(c.tenant, q));
  });

  // ---- online registration ----
  add("POST", "/v1/t/{t}/registrations", kRegistrar | kStaff, kHash, [this](Call& c) {
    LK_BODY(c, false);
    commands::Register cmd;
    cmd.family_name = f.string("family_name");
    auto guardians = f.objects("guardians", 10);
    auto children = f.objects("children", 20, false);
    LK_FINISH(f);
    for (std::size_t i = 0; i < guardians.size(); ++i) {
      Fields g(*guardians[i]);
      commands::RegistrationGuardian rg;
      rg.contact = contact_of(g);
      rg.password = g.optional_string("password").value_or("");
      rg.login_id = g.optional_string("login_id").value_or("");
      const std::string prefix = "guardians[" + std::to_string(i) + "].";
      if (auto invalid = g.finish(prefix)) return problem_of(*invalid);
      // SPEC §2: staff never set a guardian's password; only the portal's
      // registration form (a registrar key) passes one the guardian chose.
      if (!rg.password.empty() && c.role != "registrar") {
        auto e = make_error("staff_cannot_set_password",
                            "Staff cannot set a guardian's password; leave it out and send a reset link.",
                            prefix + "password");
        return problem_of(e);
      }
      cmd.guardians.push_back(std::move(rg));
    }
    for (std::size_t i = 0; i < children.size(); ++i) {
      Fields k(*children[i]);
      commands::ChildInput child{k.string("child_id"), k.string("first_name"), k.string("last_name")};
      if (auto invalid = k.finish("children[" + std::to_string(i) + "].")) return problem_of(*invalid);
      cmd.children.push_back(std::move(child));
    }
    return answer(deps_.commands.register_online(c.ctx, cmd), 201, [](const commands::Registered& r) {
      return json{{"family_id", r.family_id},
                  {"guardian_ids", r.guardian_ids},
                  {"child_ids", r.child_ids},
                  {"position", r.position}};
    });
  });

  // ---- guardian sessions and self-service ----
  add("POST", "/v1/t/{t}/sessions", kPublic, kHash, [this](Call& c) {
    LK_BODY(c, false);
    commands::LogIn cmd{f.string("login"), f.string("password")};
    LK_FINISH(f);
    return answer(deps_.commands.log_in(c.ctx, cmd), 201, [](const commands::LoggedIn& s) {
      return json{{"session_token", s.session_token},
                  {"guardian_id", s.guardian_id},
                  {"must_change_password", s.must_change_password},
                  {"expires_at", domain::format_time(s.expires_at_us)},
                  {"position", s.position}};
    });
  });
  add("DELETE", "/v1/t/{t}/sessions/current", kGuardian | kGuardianMustChange, kCommand, [this](Call& c) {
    return accepted(deps_.commands.log_out(c.ctx, {c.session_token}));
  });
  add("GET", "/v1/t/{t}/me", kGuardian | kGuardianMustChange, kQuery,
      [this](Call& c) { return read(deps_.reads.guardian(c.tenant, c.guardian.guardian_id)); });
  add("POST", "/v1/t/{t}/me/password", kGuardian | kGuardianMustChange, kHash, [this](Call& c) {
    LK_BODY(c, false);
    commands::ChangePassword cmd{c.session_token, f.optional_string("current_password").value_or(""),
                                 f.string("new_password")};
    LK_FINISH(f);
    return accepted(deps_.commands.change_password(c.ctx, cmd));
  });
  add("PUT", "/v1/t/{t}/me/login-id", kGuardian, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::ChangeLoginId cmd{c.session_token, f.string("login_id")};
    LK_FINISH(f);
    return accepted(deps_.commands.change_login_id(c.ctx, cmd));
  });
  add("PUT", "/v1/t/{t}/me/security-question", kGuardian, kHash, [this](Call& c) {
    LK_BODY(c, false);
    commands::SetSecurityQuestion cmd{c.session_token, f.string("current_password"), f.string("question"),
                                      f.string("answer")};
    LK_FINISH(f);
    return accepted(deps_.commands.set_security_question(c.ctx, cmd));
  });
  add("POST", "/v1/t/{t}/me/policies/{p}/acceptances", kGuardian, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::AcceptPolicy cmd{c.session_token, c.param("p"), f.integer("version")};
    LK_FINISH(f);
    return accepted(deps_.commands.accept_policy(c.ctx, cmd), 201);
  });

  // ---- resets ----
  add("POST", "/v1/t/{t}/password-resets", kPublic, kHash, [this](Call& c) {
    c.floor_until = c.started + options_.self_service_floor;
    LK_BODY(c, false);
    commands::RequestResetSelf cmd{f.string("login")};
    LK_FINISH(f);
    auto r = deps_.commands.request_reset(c.ctx, cmd);
    // The same answer whatever happened (SPEC §2 rule 4); only a failure of
    // the server itself is told.
    if (!r && status_for(r.error().code) >= 500) return problem_of(r.error());
    return json_response(202, {{"status", "accepted"},
                               {"message", "If the account exists, a reset link is on its way."}});
  });
  add("POST", "/v1/t/{t}/password-resets/redeem", kPublic, kHash, [this](Call& c) {
    LK_BODY(c, false);
    commands::RedeemToken cmd{f.string("token", 256), f.string("new_password"),
                              f.optional_string("security_answer").value_or("")};
    LK_FINISH(f);
    return accepted(deps_.commands.redeem_token(c.ctx, cmd));
  });
  add("POST", "/v1/t/{t}/guardians/{g}/reset-requests", kStaff, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::RequestResetStaff cmd{c.param("g"), f.string("channel")};
    LK_FINISH(f);
    return answer(deps_.commands.request_reset(c.ctx, cmd), 202, [](const commands::StaffResetRequested& r) {
      json out{{"position", r.position}, {"channel", r.channel}, {"throttled", r.throttled}};
      out["expires_at"] = r.throttled ? json(nullptr) : json(domain::format_time(r.expires_at_us));
      return out;
    });
  });
  add("POST", "/v1/t/{t}/guardians/{g}/temporary-password", kStaff, kHash, [this](Call& c) {
    LK_BODY(c, true);
    LK_FINISH(f);
    return answer(deps_.commands.issue_temporary_password(c.ctx, {c.param("g")}), 202,
                  [](const commands::TemporaryPasswordSent& r) {
                    return json{{"position", r.position}, {"expires_at", domain::format_time(r.expires_at_us)}};
                  });
  });
  add("POST", "/v1/t/{t}/portal-login-resets", kStaff, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::ResetPortalLogin cmd{f.strings("guardian_ids", 500)};
    LK_FINISH(f);
    if (cmd.guardian_ids.empty()) return problem_of(invalid_field("guardian_ids", "name at least one guardian"));
    auto results = deps_.commands.reset_portal_login(c.ctx, cmd);
    json items = json::array();
    std::uint64_t last = 0;
    for (const auto& r : results) {
      json item{{"guardian_id", r.guardian_id}, {"status", r.status}};
      if (r.position) item["position"] = r.position;
      if (!r.error.empty()) item["error"] = r.error;
      last = std::max(last, r.position);
      items.push_back(std::move(item));
    }
    return json_response(200, {{"items", std::move(items)}, {"position", last}});
  });
  add("POST", "/v1/t/{t}/account-claims", kPublic, kHash, [this](Call& c) {
    c.floor_until = c.started + options_.self_service_floor;
    LK_BODY(c, false);
    commands::ClaimAccount cmd{f.string("login_id"), f.string("child_id"), f.string("first_name"),
                               f.string("last_name")};
    LK_FINISH(f);
    auto r = deps_.commands.claim_account(c.ctx, cmd);
    if (!r && status_for(r.error().code) >= 500) return problem_of(r.error());
    return json_response(202, {{"status", "accepted"},
                               {"message", "If the details match, a temporary password is on its way."}});
  });

  // ---- policies ----
  add("GET", "/v1/t/{t}/policies/{p}/acceptances", kStaff | kAuditor, kQuery, [this](Call& c) {
    std::int64_t version = 0;
    if (const auto* v = c.query_value("version")) {
      try {
        std::size_t used = 0;
        version = std::stoll(*v, &used);
        if (used != v->size() || version < 1) throw std::invalid_argument("version");
      } catch (const std::exception&) {
        return problem_of(invalid_field("version", "version must be a positive integer"));
      }
    }
    auto limit = limit_of(c, 100, 1000);
    if (!limit) return bad_limit(1000);
    return read(deps_.reads.acceptances(c.tenant, c.param("p"), version, query_or(c, "cursor"), *limit));
  });
  add("POST", "/v1/t/{t}/policies/{p}/manual-acceptances", kStaff, kCommand, [this](Call& c) {
    LK_BODY(c, false);
    commands::ManuallyAcceptPolicy cmd{f.string("family_id"), c.param("p"), f.integer("version"),
                                       f.optional_string("reason").value_or("")};
    LK_FINISH(f);
    return accepted(deps_.commands.manually_accept_policy(c.ctx, cmd), 201);
  });

  // ---- audit ----
  auto audit_query = [](Call& c, projections::AuditQuery& q) -> std::optional<Response> {
    q.subject = query_or(c, "subject");
    q.actor = query_or(c, "actor");
    q.type = query_or(c, "type");
    q.cursor = query_or(c, "cursor");
    for (auto [name, out] : {std::pair{"from", &q.from_us}, std::pair{"to", &q.to_us}}) {
      if (const auto* v = c.query_value(name)) {
        auto t = domain::parse_time(*v);
        if (!t) return problem_of(invalid_field(name, std::string(name) + " must be an RFC 3339 time"));
        *out = *t;
      }
    }
    return std::nullopt;
  };
  add("GET", "/v1/t/{t}/audit", kAuditor | kAdmin, kQuery, [this, audit_query](Call& c) {
    projections::AuditQuery q;
    if (auto bad = audit_query(c, q)) return *bad;
    auto limit = limit_of(c, 100, 1000);
    if (!limit) return bad_limit(1000);
    q.limit = *limit;
    return read(deps_.reads.audit(c.tenant, q));
  });
  // The whole filtered audit log as NDJSON, one entry per line, page by page.
  // On the wait pool: a long export must not hold one of the few command threads.
  add("GET", "/v1/t/{t}/audit/export", kAuditor | kAdmin, kWait, [this, audit_query](Call& c) {
    projections::AuditQuery q;
    if (auto bad = audit_query(c, q)) return *bad;
    q.limit = 1000;
    Response r;
    r.content_type = "application/x-ndjson";
    for (;;) {
      auto page = deps_.reads.audit(c.tenant, q);
      if (!page) return problem_of(page.error());
      for (const auto& item : (*page)["items"]) {
        r.body += item.dump(-1, ' ', false, json::error_handler_t::replace);
        r.body += '\n';
      }
      const auto& next = (*page)["next_cursor"];
      if (!next.is_string()) break;
      q.cursor = next.get<std::string>();
    }
    return r;
  });
}

}  // namespace latchkey::app
