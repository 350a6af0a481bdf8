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
  StreamFoldProjection(ReadModelDb& db, std::string_view name, std::string_view stream_kind,
                       std::string (*key)(std::string_view, std::string_view))
      : rows_(db), name_(name), kind_(stream_kind), key_(key) {}

  std::string_view name() const override { return name_; }
  std::uint32_t schema_version() const override { return 1; }
  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event, WriteSet&) override {
    auto subject = stream_subject(recorded.stream_id, kind_);
    if (subject.empty()) return;
    rows_.change(key_(recorded.data.tenant, subject)).apply(event, recorded.data.recorded_at_us);
  }
  void flush(WriteSet& writes) override { rows_.flush(writes); }
  void reset() override { rows_.reset(); }

 private:
  Rows<State> rows_;
  std::string_view name_;
  std::string_view kind_;
  std::string (*key_)(std::string_view, std::string_view);
};

std::string guardian_key(std::string_view t, std::string_view g) { return keys::guardian(t, g); }
std::string tenant_key(std::string_view t, std::string_view) { return keys::tenant(t); }

}  // namespace

std::unique_ptr<Projection> make_login_state_projection(ReadModelDb& db) {
  return std::make_unique<StreamFoldProjection<domain::GuardianState>>(db, "login_state", "guardian", guardian_key);
}

std::unique_ptr<Projection> make_tenants_projection(ReadModelDb& db) {
  return std::make_unique<StreamFoldProjection<domain::TenantState>>(db, "tenants", "tenant", tenant_key);
}

}  // namespace latchkey::projections
