// LoginStateProjection and TenantsProjection: rows that are the domain's own
// folds of one stream (the guardian's, the tenant's).
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {

std::string_view stream_subject(std::string_view stream_id, std::string_view kind) {
  if (!stream_id.starts_with(kind) || stream_id.size() <= kind.size() || stream_id[kind.size()] != ':') return {};
  auto rest = stream_id.substr(kind.size() + 1);
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) return kind == "tenant" ? rest : std::string_view{};
  return rest.substr(colon + 1);
}

namespace {

template <class State>
class StreamFoldProjection final : public Projection {
 public:
  StreamFoldProjection(ReadModelDb& db, std::string_view name, std::uint32_t schema_version,
                       std::string_view stream_kind, std::string (*key)(std::string_view, std::string_view),
                       void (*trim)(State&))
      : rows_(db), name_(name), schema_version_(schema_version), kind_(stream_kind), key_(key), trim_(trim) {}

  std::string_view name() const override { return name_; }
  std::uint32_t schema_version() const override { return schema_version_; }
  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event, WriteSet&) override {
    auto subject = stream_subject(recorded.stream_id, kind_);
    if (subject.empty()) return;
    auto& row = rows_.change(key_(recorded.data.tenant, subject));
    row.apply(event, recorded.data.recorded_at_us);
    trim_(row);
  }
  std::function<void(WriteSet&)> take_changes() override { return rows_.take_changes(); }
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) override {
    return rows_.take_changes_in_place(parts, rows_per_part);
  }
  void trim_cache() override { rows_.trim_cache(); }
  void age_cache() override { rows_.age_cache(); }
  std::size_t cached_rows() const override { return rows_.cached(); }
  bool holds_rows() const override { return true; }
  void reset(Stored stored) override { rows_.reset(stored); }

 private:
  Rows<State> rows_;
  std::string_view name_;
  std::uint32_t schema_version_;
  std::string_view kind_;
  std::string (*key_)(std::string_view, std::string_view);
  void (*trim_)(State&);
};

// The read side needs to know that a credential exists, never its hash: the
// fold only tests these for emptiness, so a marker keeps it exact while rows
// stay small and hold no hash at all.
constexpr const char* kPresent = "*";

// The row keeps what the card shows and what later events act on, nothing
// else: no hashes; no hourly throttle (a decision of the write side, never
// shown); of the reset links only pending ones (a link that was used,
// superseded or exhausted never becomes pending again, and the events that
// act on a link only act on a pending one). A guardian asking for many
// resets thus keeps a row of a few hundred bytes, serialised on each change.
void trim_guardian(domain::GuardianState& g) {
  for (auto* hash : {&g.password_hash, &g.temporary_password_hash, &g.security_answer_hash}) {
    if (!hash->empty()) *hash = kPresent;
  }
  std::erase_if(g.resets, [](const domain::ResetRecord& r) { return r.status != domain::ResetStatus::pending; });
  for (auto& r : g.resets) r.token_hash.clear();
  g.reset_requests_sent_us.clear();
  for (auto& [id, s] : g.sessions) s.token_hash.clear();
}

void trim_tenant(domain::TenantState& t) {
  for (auto& [id, key] : t.api_keys) key.key_hash.clear();
}

std::string guardian_key(std::string_view t, std::string_view g) { return keys::guardian(t, g); }
std::string tenant_key(std::string_view t, std::string_view) { return keys::tenant(t); }

}  // namespace

std::unique_ptr<Projection> make_login_state_projection(ReadModelDb& db) {
  return std::make_unique<StreamFoldProjection<domain::GuardianState>>(db, "login_state", 3, "guardian",
                                                                      guardian_key, trim_guardian);
}

std::unique_ptr<Projection> make_tenants_projection(ReadModelDb& db) {
  return std::make_unique<StreamFoldProjection<domain::TenantState>>(db, "tenants", 2, "tenant", tenant_key,
                                                                    trim_tenant);
}

}  // namespace latchkey::projections
