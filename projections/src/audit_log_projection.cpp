// AuditLogProjection: indexes every tenant event by position, subject and
// actor. The lines themselves are rendered from the log when asked for
// (audit_lines.cpp): the log is the record, the index only finds it. This
// keeps the audit read model small (no copy of every event) and a rebuild fast.
//
// Each index key holds a run of positions (rows.hpp, audit_runs). The index
// of a tenant's every event ('e') takes its positions in runs of up to
// kRunPositions, open in memory until full or until the batch is handed
// over: a rebuild writes ~8,000 keys for it per 1M events instead of 1M.
// The subject and actor indexes write a run of one per event: runs open per
// guardian (a few hundred thousand of them) cost the folding thread more in
// hash-table misses than sorting and writing their keys costs the
// committer (a 1M-event rebuild took 6-9% longer).
#include <unordered_map>

#include "latchkey/projections/audit_lines.hpp"
#include "latchkey/projections/read_model_db.hpp"
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class AuditLogProjection final : public Projection {
 public:
  // Long enough that a rebuild writes few keys, short enough that a page
  // starting inside a run skips little.
  static constexpr std::uint32_t kRunPositions = 128;

  std::string_view name() const override { return "audit"; }
  std::uint32_t schema_version() const override { return 3; }

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
    extend_run(d.tenant, recorded.position, writes);
    put('s', subject);
    if (!d.actor.id.empty()) put('a', d.actor.id);
  }

  // The open runs, written as they are (the next positions start new ones).
  std::function<void(WriteSet&)> take_changes() override {
    std::vector<std::pair<std::string, std::string>> taken;
    for (auto& [tenant, run] : runs_) {
      if (run.count == 0) continue;
      taken.emplace_back(run_key(tenant, run.first), std::move(run.gaps));
    }
    runs_.clear();
    return [taken = std::move(taken)](WriteSet& writes) {
      for (const auto& [key, gaps] : taken) writes.put(key, gaps);
    };
  }
  void trim_cache() override {}  // take_changes() empties it
  void age_cache() override {}
  std::size_t cached_rows() const override { return runs_.size(); }
  void reset(Stored) override { runs_.clear(); }

 private:
  struct Run {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint32_t count = 0;  // 0: none open (the last one was written)
    std::string gaps;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // The every-event index's key of a run starting at `first`.
  static std::string run_key(std::string_view tenant, std::uint64_t first) {
    return keys::audit_prefix(tenant) + be64(first);
  }

  void extend_run(std::string_view tenant, std::uint64_t position, WriteSet& writes) {
    auto it = runs_.find(tenant);
    if (it == runs_.end()) it = runs_.emplace(std::string(tenant), Run{}).first;
    Run& run = it->second;
    if (run.count == 0) {
      run.first = position;
    } else {
      audit_runs::append_gap(run.gaps, position - run.last);
    }
    run.last = position;
    if (++run.count < kRunPositions) return;
    writes.put(run_key(tenant, run.first), run.gaps);
    run.count = 0;
    run.gaps.clear();
  }

  // The open run of each tenant's every-event index.
  std::unordered_map<std::string, Run, Hash, std::equal_to<>> runs_;
  std::string key_;  // the key being written, kept for its capacity
};

}  // namespace

std::unique_ptr<Projection> make_audit_log_projection(ReadModelDb&) {
  return std::make_unique<AuditLogProjection>();
}

}  // namespace latchkey::projections
