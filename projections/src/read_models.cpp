#include "latchkey/projections/read_models.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <set>
#include <unordered_map>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/projections/audit_lines.hpp"
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

Error not_found(const std::string& what) { return make_error("not_found", what + " not found"); }
Error bad_cursor() { return make_error("invalid_input", "the cursor is not valid", "cursor"); }

template <class Row>
Result<std::optional<Row>> parse_row(const std::optional<std::string>& stored, const std::string& key) {
  if (!stored.has_value()) return std::optional<Row>{};
  auto j = nlohmann::json::parse(*stored, nullptr, false);
  try {
    return std::optional<Row>{j.get<Row>()};
  } catch (const nlohmann::json::exception& e) {
    return make_error("corruption", "read model row " + key + " does not decode");
  }
}

template <class Row>
Result<std::optional<Row>> load_row(ReadModelDb& db, const std::string& key) {
  auto stored = db.get(key);
  if (!stored) return stored.error();
  return parse_row<Row>(*stored, key);
}

// The first instant after `now` at which a guardian's card would read
// differently with no new event: a lock running out, a reset link or a
// session expiring. INT64_MAX when nothing is pending.
domain::Micros card_changes_after(const domain::GuardianState& g, domain::Micros now) {
  domain::Micros next = std::numeric_limits<domain::Micros>::max();
  auto consider = [&](domain::Micros t) {
    if (t > now && t < next) next = t;
  };
  consider(g.locked_until_us);
  for (const auto& r : g.resets) {
    if (r.status == domain::ResetStatus::pending) consider(r.expires_at_us);
  }
  for (const auto& [id, session] : g.sessions) consider(session.expires_at_us);
  return next;
}

nlohmann::json time_or_null(std::int64_t us) {
  return us == 0 ? nlohmann::json(nullptr) : nlohmann::json(domain::format_time(us));
}

std::string hex_of(std::string_view bytes) {
  return domain::hex_encode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

// Cursors over keys are the last key returned, in hex (at most 512 bytes).
std::optional<std::string> unhex(std::string_view hex) {
  if (hex.size() > 1024) return std::nullopt;
  return domain::hex_decode(hex);
}

// Cursors over position-ordered keys are the last position returned.
std::optional<std::uint64_t> position_cursor(const std::string& cursor) {
  if (cursor.empty()) return 0;
  if (cursor.size() > 20 || !std::all_of(cursor.begin(), cursor.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(cursor);
}

// A guardian's card as SPEC §5 "login state" shows it, at `now`.
nlohmann::json guardian_card_of(const domain::GuardianState& g, domain::Micros now, const nlohmann::json* children) {
  nlohmann::json pending = nullptr;
  if (const auto* r = g.pending_reset(now)) {
    pending = {{"channel", r->channel}, {"expires_at", domain::format_time(r->expires_at_us)}};
  }
  const auto active = std::count_if(g.sessions.begin(), g.sessions.end(),
                                    [now](const auto& kv) { return kv.second.expires_at_us > now; });
  nlohmann::json card = {
      {"id", g.id},
      {"family_id", g.family_id},
      {"first_name", g.first_name},
      {"last_name", g.last_name},
      {"email", g.email.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.email)},
      {"phone", g.phone.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.phone)},
      {"can_log_in", g.can_log_in},
      {"login_id", g.has_logged_in && !g.login_id().empty() ? nlohmann::json(g.login_id()) : nlohmann::json(nullptr)},
      {"status", g.status(now)},
      {"last_login", time_or_null(g.last_login_us)},
      {"login_count", g.login_count},
      {"failed_login_count", g.failed_login_count},
      {"locked_until", g.is_locked(now) ? time_or_null(g.locked_until_us) : nlohmann::json(nullptr)},
      {"must_change_password", g.must_change_password},
      {"pending_reset", pending},
      {"active_sessions", active}};
  if (children) card["children"] = *children;
  return card;
}

}  // namespace

std::vector<std::unique_ptr<Projection>> make_all_projections(ReadModelDb& db) {
  std::vector<std::unique_ptr<Projection>> all;
  all.push_back(make_tenants_projection(db));
  all.push_back(make_login_state_projection(db));
  all.push_back(make_directory_projection(db));
  all.push_back(make_session_index_projection(db));
  all.push_back(make_policy_acceptances_projection(db));
  all.push_back(make_sms_credits_projection(db));
  all.push_back(make_audit_log_projection(db));
  return all;
}

bool ReadModels::wait_for(std::uint64_t position, std::chrono::milliseconds timeout) {
  if (runner_ == nullptr) return true;
  return runner_->applied() >= position || runner_->wait_for(position, timeout);
}

std::uint64_t ReadModels::applied() const { return runner_ ? runner_->applied() : 0; }

Result<nlohmann::json> ReadModels::guardian_card(const std::string& tenant, const std::string& guardian_id,
                                                 const nlohmann::json* children) {
  auto row = load_row<domain::GuardianState>(db_, keys::guardian(tenant, guardian_id));
  if (!row) return row.error();
  if (!row->has_value() || !(*row)->exists) return not_found("guardian");
  return guardian_card_of(**row, clock_.now_us(), children);
}

Result<nlohmann::json> ReadModels::guardian(const std::string& tenant, const std::string& guardian_id) {
  auto name = load_row<GuardianNameRow>(db_, keys::guardian_name(tenant, guardian_id));
  if (!name) return name.error();
  nlohmann::json children = nlohmann::json::array();
  if (name->has_value()) {
    auto family = load_row<FamilyRow>(db_, keys::family(tenant, (*name)->family_id));
    if (!family) return family.error();
    if (family->has_value()) children = (**family).children;
  }
  return guardian_card(tenant, guardian_id, &children);
}

// Remembered renderings of guardian cards, in shards so that I/O threads
// rarely wait on each other. An entry holds the generations (ReadModelDb::
// generation) of the three rows it was rendered from, read before the rows
// themselves, and the span of time over which it stays true; a hit needs all
// three generations unmoved and the clock inside that span, so a stale answer
// is impossible by construction and there is no invalidation to forget.
// Bounded: a full shard is emptied.
struct ReadModels::CardCache {
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPerShard = 256;
  struct Entry {
    std::uint64_t name_gen = 0, family_gen = 0, guardian_gen = 0;
    std::string family_key;
    domain::Micros from_us = 0, until_us = 0;
    std::string text;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  std::array<Shard, kShards> shards;
  Shard& shard_of(const std::string& key) { return shards[std::hash<std::string>{}(key) % kShards]; }
};

std::shared_ptr<ReadModels::CardCache> ReadModels::make_card_cache() { return std::make_shared<CardCache>(); }

Result<std::string> ReadModels::guardian_text(const std::string& tenant, const std::string& guardian_id) {
  const std::string name_key = keys::guardian_name(tenant, guardian_id);
  const std::string guardian_key = keys::guardian(tenant, guardian_id);
  const std::uint64_t name_gen = db_.generation(name_key);
  const std::uint64_t guardian_gen = db_.generation(guardian_key);
  const auto now = clock_.now_us();
  std::string cache_key = tenant;
  cache_key += '\0';
  cache_key += guardian_id;
  auto& shard = cards_->shard_of(cache_key);
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(cache_key); it != shard.entries.end()) {
      const auto& e = it->second;
      if (e.name_gen == name_gen && e.guardian_gen == guardian_gen && db_.generation(e.family_key) == e.family_gen &&
          now >= e.from_us && now < e.until_us) {
        return e.text;
      }
    }
  }

  // Read and render; remember the rendering with the generations read before the rows.
  auto name_raw = db_.get(name_key);
  if (!name_raw) return name_raw.error();
  auto name = parse_row<GuardianNameRow>(*name_raw, name_key);
  if (!name) return name.error();
  nlohmann::json children = nlohmann::json::array();
  std::string family_key;
  std::uint64_t family_gen = 0;
  if (name->has_value()) {
    family_key = keys::family(tenant, (*name)->family_id);
    family_gen = db_.generation(family_key);
    auto family = load_row<FamilyRow>(db_, family_key);
    if (!family) return family.error();
    if (family->has_value()) children = (**family).children;
  }
  auto state = load_row<domain::GuardianState>(db_, guardian_key);
  if (!state) return state.error();
  if (!state->has_value() || !(*state)->exists) return not_found("guardian");
  auto card = guardian_card_of(**state, now, &children);
  std::string text = card.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (name->has_value()) {
    CardCache::Entry e{name_gen, family_gen, guardian_gen, std::move(family_key), now,
                       card_changes_after(**state, now), text};
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= CardCache::kPerShard && !shard.entries.contains(cache_key)) shard.entries.clear();
    shard.entries.insert_or_assign(std::move(cache_key), std::move(e));
  }
  return text;
}

Result<nlohmann::json> ReadModels::family(const std::string& tenant, const std::string& family_id) {
  auto row = load_row<FamilyRow>(db_, keys::family(tenant, family_id));
  if (!row) return row.error();
  if (!row->has_value() || (*row)->id.empty()) return not_found("family");
  const auto& f = **row;
  nlohmann::json guardians = nlohmann::json::array();
  for (const auto& gid : f.guardian_ids) {
    auto card = guardian_card(tenant, gid, nullptr);
    if (card) guardians.push_back(std::move(*card));
  }
  return nlohmann::json{{"id", f.id}, {"name", f.name}, {"guardians", guardians}, {"children", f.children}};
}

Result<nlohmann::json> ReadModels::search_guardians(const std::string& tenant, const GuardianSearch& q) {
  if (q.limit < 1 || q.limit > 500) return make_error("invalid_input", "limit is 1 to 500", "limit");
  if (!q.letter.empty() && q.letter.size() != 1) {
    return make_error("invalid_input", "letter is a single letter", "letter");
  }
  const std::string prefix = keys::name_index_prefix(tenant) + domain::ascii_lower(q.letter.empty() ? q.last_name_prefix : q.letter);
  std::string start;
  if (!q.cursor.empty()) {
    auto key = unhex(q.cursor);
    if (!key || !key->starts_with(prefix)) return bad_cursor();
    start = *key + '\0';  // just after the last key returned
  }
  std::vector<std::string> ids;
  std::string last_key;
  bool more = false;
  auto scanned = db_.scan(prefix, start, [&](std::string_view key, std::string_view value) {
    if (ids.size() == q.limit) {
      more = true;
      return false;
    }
    ids.emplace_back(value);
    last_key = std::string(key);
    return true;
  });
  if (!scanned) return scanned.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& id : ids) {
    auto card = guardian_card(tenant, id, nullptr);
    if (card) items.push_back(std::move(*card));
  }
  return nlohmann::json{{"items", items}, {"next_cursor", more ? nlohmann::json(hex_of(last_key)) : nlohmann::json(nullptr)}};
}

Result<nlohmann::json> ReadModels::settings(const std::string& tenant) {
  auto row = load_row<domain::TenantState>(db_, keys::tenant(tenant));
  if (!row) return row.error();
  if (!row->has_value() || !(*row)->exists) return not_found("tenant");
  return nlohmann::json{{"tenant", (*row)->id}, {"name", (*row)->name}, {"settings", (*row)->settings}};
}

Result<nlohmann::json> ReadModels::sms_credits(const std::string& tenant, const std::string& cursor, std::size_t limit) {
  auto after = position_cursor(cursor);
  if (!after) return bad_cursor();
  if (limit < 1 || limit > 1000) return make_error("invalid_input", "limit is 1 to 1000", "limit");
  auto balance = load_row<SmsBalanceRow>(db_, keys::sms_balance(tenant));
  if (!balance) return balance.error();
  nlohmann::json ledger = nlohmann::json::array();
  std::uint64_t last = 0;
  bool more = false;
  const auto prefix = keys::sms_ledger_prefix(tenant);
  auto scanned = db_.scan(prefix, prefix + be64(*after + 1), [&](std::string_view key, std::string_view value) {
    if (ledger.size() == limit) {
      more = true;
      return false;
    }
    ledger.push_back(nlohmann::json::parse(value));
    last = from_be64(key.substr(prefix.size()));
    return true;
  });
  if (!scanned) return scanned.error();
  return nlohmann::json{{"balance", balance->has_value() ? (*balance)->balance : 0},
                        {"ledger", ledger},
                        {"next_cursor", more ? nlohmann::json(std::to_string(last)) : nlohmann::json(nullptr)}};
}

Result<nlohmann::json> ReadModels::acceptances(const std::string& tenant, const std::string& policy_id,
                                               std::int64_t version, const std::string& cursor, std::size_t limit) {
  auto policy = load_row<domain::PolicyRecord>(db_, keys::policy(tenant, policy_id));
  if (!policy) return policy.error();
  if (!policy->has_value()) return not_found("policy");
  if (limit < 1 || limit > 1000) return make_error("invalid_input", "limit is 1 to 1000", "limit");
  std::string prefix = keys::acceptance_prefix(tenant, policy_id);
  if (version > 0) prefix += be64(static_cast<std::uint64_t>(version));
  std::string start;
  if (!cursor.empty()) {
    auto key = unhex(cursor);
    if (!key || !key->starts_with(prefix)) return bad_cursor();
    start = *key + '\0';
  }
  nlohmann::json items = nlohmann::json::array();
  std::string last_key;
  bool more = false;
  auto scanned = db_.scan(prefix, start, [&](std::string_view key, std::string_view value) {
    if (items.size() == limit) {
      more = true;
      return false;
    }
    items.push_back(nlohmann::json::parse(value));
    last_key = std::string(key);
    return true;
  });
  if (!scanned) return scanned.error();
  return nlohmann::json{{"policy_id", policy_id},
                        {"title", (*policy)->title},
                        {"items", items},
                        {"next_cursor", more ? nlohmann::json(hex_of(last_key)) : nlohmann::json(nullptr)}};
}

Result<nlohmann::json> ReadModels::family_policies(const std::string& tenant, const std::string& family_id) {
  auto family = load_row<FamilyRow>(db_, keys::family(tenant, family_id));
  if (!family) return family.error();
  if (!family->has_value() || (*family)->id.empty()) return not_found("family");
  nlohmann::json accepted = nlohmann::json::array();
  std::set<std::pair<std::string, std::int64_t>> done;
  auto scanned = db_.scan(keys::family_acceptance_prefix(tenant, family_id), "",
                          [&](std::string_view, std::string_view value) {
                            auto a = nlohmann::json::parse(value);
                            done.emplace(a["policy_id"].get<std::string>(), a["version"].get<std::int64_t>());
                            accepted.push_back(std::move(a));
                            return true;
                          });
  if (!scanned) return scanned.error();
  nlohmann::json outstanding = nlohmann::json::array();
  const auto prefix = keys::policy_prefix(tenant);
  scanned = db_.scan(prefix, "", [&](std::string_view, std::string_view value) {
    auto p = nlohmann::json::parse(value).get<domain::PolicyRecord>();
    const auto latest = p.latest_version();
    if (latest > 0 && !done.contains({p.policy_id, latest})) {
      outstanding.push_back({{"policy_id", p.policy_id}, {"title", p.title}, {"version", latest}});
    }
    return true;
  });
  if (!scanned) return scanned.error();
  return nlohmann::json{{"family_id", family_id}, {"accepted", accepted}, {"outstanding", outstanding}};
}

Result<nlohmann::json> ReadModels::audit(const std::string& tenant, const AuditQuery& q) {
  auto after = position_cursor(q.cursor);
  if (!after) return bad_cursor();
  if (q.limit < 1 || q.limit > 1000) return make_error("invalid_input", "limit is 1 to 1000", "limit");
  std::string prefix = keys::audit_prefix(tenant);
  bool via_index = false;
  if (!q.subject.empty()) {
    prefix = keys::audit_subject_prefix(tenant, q.subject);
    via_index = true;
  } else if (!q.actor.empty()) {
    prefix = keys::audit_actor_prefix(tenant, q.actor);
    via_index = true;
  }
  nlohmann::json items = nlohmann::json::array();
  std::uint64_t last = 0;
  bool more = false;
  std::size_t examined = 0;
  constexpr std::size_t kMaxExamined = 100'000;  // bounds the work of one page of a narrow filter
  Error failure;
  bool failed = false;
  auto fail = [&](Error e) {
    failure = std::move(e);
    failed = true;
    return false;
  };
  // One position of the index: false to stop.
  auto visit = [&](std::uint64_t position) {
    if (position <= *after) return true;
    if (items.size() == q.limit || ++examined > kMaxExamined) {
      more = true;
      return false;
    }
    last = position;
    auto events = log_.read_all(position, 1);
    if (!events || events->empty() || events->front().position != position) {
      return fail(events ? make_error("corruption",
                                      "the audit index names a position the log does not have")
                         : events.error());
    }
    const auto& recorded = events->front();
    if (!q.type.empty() && recorded.data.type != q.type) return true;
    if (q.from_us != 0 && recorded.data.recorded_at_us < q.from_us) return true;
    if (q.to_us != 0 && recorded.data.recorded_at_us >= q.to_us) return true;
    if (via_index && !q.subject.empty() && !q.actor.empty() && recorded.data.actor.id != q.actor) {
      return true;
    }
    auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version, recorded.data.payload);
    if (!event) return fail(make_error("corruption", event.error().message));
    items.push_back(audit_entry(recorded, *event));
    return true;
  };
  // The index holds runs of positions keyed by their first (rows.hpp,
  // audit_runs): the page starts at the run that holds the position after
  // the cursor, which may begin before it.
  std::string from = prefix + be64(*after + 1);
  auto found = db_.scan_backwards(prefix, from, [&](std::string_view key, std::string_view) {
    from.assign(key);
    return false;
  });
  if (!found) return found.error();
  auto scanned = db_.scan(prefix, from, [&](std::string_view key, std::string_view gaps) {
    if (key.size() != prefix.size() + 8) {
      return fail(make_error("corruption", "an audit index key is malformed"));
    }
    bool go_on = true;
    if (!audit_runs::for_each_position(
            from_be64(key.substr(prefix.size())), gaps,
            [&](std::uint64_t position) { return go_on = visit(position); })) {
      return fail(make_error("corruption", "an audit index run does not decode"));
    }
    return go_on;
  });
  if (!scanned) return scanned.error();
  if (failed) return failure;
  return nlohmann::json{{"items", items},
                        {"next_cursor", more ? nlohmann::json(std::to_string(last)) : nlohmann::json(nullptr)}};
}

Result<std::optional<SessionInfo>> ReadModels::session(const std::string& token_hash) {
  auto stored = db_.get(keys::session(token_hash));
  if (!stored) return stored.error();
  if (!stored->has_value()) return std::optional<SessionInfo>{};
  auto j = nlohmann::json::parse(**stored);
  SessionInfo s{j["tenant"], j["guardian_id"], j["session_id"], j["expires_at_us"], j["must_change_password"]};
  if (s.expires_at_us <= clock_.now_us()) return std::optional<SessionInfo>{};
  return std::optional<SessionInfo>{std::move(s)};
}

}  // namespace latchkey::projections
