// AuditLogProjection: indexes every tenant event by position, subject and
// actor. The lines themselves are rendered from the log when asked for
// (audit_lines.cpp): the log is the record, the index only finds it. This
// keeps the audit read model small (no copy of every event) and a rebuild fast.
#include "latchkey/projections/audit_lines.hpp"
#include "latchkey/projections/read_model_db.hpp"
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class AuditLogProjection final : public Projection {
 public:
  std::string_view name() const override { return "audit"; }
  std::uint32_t schema_version() const override { return 2; }

  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
             WriteSet& writes) override {
    const auto& d = recorded.data;
    if (d.tenant.empty()) return;  // platform events belong to no tenant
    std::string subject = audit_subject(event);
    if (subject.empty()) subject = d.tenant;
    const std::string pos = be64(recorded.position);
    auto put = [&](char index, std::string_view name) {
      keys::audit_prefix_into(key_, index, d.tenant, name);
      key_ += pos;
      writes.put(key_, "");
    };
    put('e', {});
    put('s', subject);
    if (!d.actor.id.empty()) put('a', d.actor.id);
  }
  std::function<void(WriteSet&)> take_changes() override { return [](WriteSet&) {}; }
  void trim_cache() override {}
  std::size_t cached_rows() const override { return 0; }
  void reset(Stored) override {}

 private:
  std::string key_;  // the key being written, kept for its capacity
};

}  // namespace

std::unique_ptr<Projection> make_audit_log_projection(ReadModelDb&) {
  return std::make_unique<AuditLogProjection>();
}

}  // namespace latchkey::projections
