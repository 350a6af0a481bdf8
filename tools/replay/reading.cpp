// history, export and stats: reading the log as an auditor.
#include <filesystem>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/streams.hpp"
#include "latchkey/projections/audit_lines.hpp"
#include "options.hpp"
#include "replay.hpp"

namespace latchkey::replay {
namespace {

constexpr const char* kHistoryUsage = R"(usage: latchkey-replay history --data DIR --tenant T (--guardian G | --family F | --stream S) [--json]
One guardian's (or family's, or any stream's) events, oldest first: time,
actor, event and a readable summary. No secret appears: events hold none, and
hashes are not shown. --json prints one audit entry per line.
)";
constexpr const char* kExportUsage = R"(usage: latchkey-replay export --data DIR --tenant T [--from RFC3339] [--to RFC3339] --format ndjson|csv
The tenant's audit log, streamed in log order (constant memory at any size).
--from is inclusive, --to exclusive.
)";
constexpr const char* kStatsUsage = R"(usage: latchkey-replay stats --data DIR [--json]
Events by type and by tenant, the number of streams, and the size on disk.
)";

std::string actor_text(const eventstore::Actor& a) {
  if (!a.name.empty()) return a.kind + " " + a.name;
  if (!a.id.empty()) return a.kind + " " + a.id;
  return a.kind;
}

std::optional<std::int64_t> time_option(const Options& o, const std::string& name, std::ostream& err) {
  if (!o.has(name)) return 0;
  auto t = domain::parse_time(o.get(name));
  if (!t) err << "latchkey-replay: --" << name << " is not an RFC 3339 time (2026-11-23T10:00:00Z)\n";
  return t;
}

std::uint64_t directory_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

int history_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kHistoryUsage, 0;
  const auto tenant = o.get("tenant");
  const int chosen = o.has("guardian") + o.has("family") + o.has("stream");
  if (!o.has("data") || tenant.empty() || chosen != 1) {
    return usage_error(err, "history needs --data, --tenant and one of --guardian, --family, --stream", kHistoryUsage);
  }
  const std::string stream = o.has("guardian") ? domain::streams::guardian(tenant, o.get("guardian"))
                             : o.has("family") ? domain::streams::family(tenant, o.get("family"))
                                               : o.get("stream");
  auto log = Log::open(o.get("data"));
  if (!log) return report_error(err, log.error());
  const bool json = o.flags.contains("json");
  if (!json) {
    out << std::left << std::setw(25) << "time" << std::setw(28) << "actor" << std::setw(26) << "event"
        << "summary\n";
  }
  std::uint64_t version = 1, shown = 0;
  for (;;) {
    auto events = (*log)->store().read_stream(stream, version, 1000);
    if (!events) return report_error(err, events.error());
    for (const auto& recorded : *events) {
      version = recorded.stream_version + 1;
      if (recorded.data.tenant != tenant) continue;  // a stream of another tenant shows nothing
      auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version, recorded.data.payload);
      if (!event) return report_error(err, event.error());
      ++shown;
      if (json) {
        out << projections::audit_entry(recorded, *event).dump() << "\n";
      } else {
        out << std::left << std::setw(25) << domain::format_time(recorded.data.recorded_at_us) << std::setw(28)
            << actor_text(recorded.data.actor).substr(0, 27) << std::setw(26) << recorded.data.type
            << projections::describe(*event).summary << "\n";
      }
    }
    if (events->size() < 1000) break;
  }
  if (shown == 0) {
    err << "latchkey-replay: no events for " << stream << "\n";
    return 2;
  }
  return 0;
}

int export_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kExportUsage, 0;
  const auto tenant = o.get("tenant");
  const auto format = o.get("format");
  if (!o.has("data") || tenant.empty() || (format != "ndjson" && format != "csv")) {
    return usage_error(err, "export needs --data, --tenant and --format ndjson|csv", kExportUsage);
  }
  auto from = time_option(o, "from", err), to = time_option(o, "to", err);
  if (!from || !to) return 2;
  auto log = Log::open(o.get("data"));
  if (!log) return report_error(err, log.error());
  if (format == "csv") {
    out << "position,at,tenant,actor_kind,actor_id,actor_name,type,subject,summary,source_ip,correlation_id\n";
  }
  Error failure;
  bool failed = false;
  auto& store = (*log)->store();
  auto r = store.for_each_event(1, store.head(), [&](const eventstore::RecordedEvent& recorded) {
    const auto& d = recorded.data;
    if (d.tenant != tenant) return true;
    if (*from != 0 && d.recorded_at_us < *from) return true;
    if (*to != 0 && d.recorded_at_us >= *to) return true;
    auto event = domain::decode_event(d.type, d.schema_version, d.payload);
    if (!event) {
      failure = event.error();
      failed = true;
      return false;
    }
    if (format == "ndjson") {
      out << projections::audit_entry(recorded, *event).dump() << '\n';
    } else {
      auto line = projections::describe(*event);
      auto subject = projections::audit_subject(*event);
      out << recorded.position << ',' << domain::format_time(d.recorded_at_us) << ',' << csv_field(d.tenant) << ','
          << csv_field(d.actor.kind) << ',' << csv_field(d.actor.id) << ',' << csv_field(d.actor.name) << ','
          << csv_field(d.type) << ',' << csv_field(subject.empty() ? d.tenant : subject) << ','
          << csv_field(line.summary) << ',' << csv_field(d.source_ip) << ',' << csv_field(d.correlation_id)
          << '\n';
    }
    return static_cast<bool>(out);
  });
  if (!r) return report_error(err, r.error());
  if (failed) return report_error(err, failure);
  if (!out.flush()) return report_error(err, make_error("io_error", "writing the export failed (disk full?)"));
  return 0;
}

int stats_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kStatsUsage, 0;
  if (!o.has("data")) return usage_error(err, "stats needs --data DIR", kStatsUsage);
  auto log = Log::open(o.get("data"));
  if (!log) return report_error(err, log.error());
  std::map<std::string, std::uint64_t> by_type, by_tenant;
  std::set<std::string> streams;
  std::int64_t first_at = 0, last_at = 0;
  auto& store = (*log)->store();
  auto r = store.for_each_event(1, store.head(), [&](const eventstore::RecordedEvent& e) {
    ++by_type[e.data.type];
    ++by_tenant[e.data.tenant.empty() ? "(platform)" : e.data.tenant];
    if (!streams.contains(e.stream_id)) streams.insert(e.stream_id);
    if (first_at == 0) first_at = e.data.recorded_at_us;
    last_at = e.data.recorded_at_us;
    return true;
  });
  if (!r) return report_error(err, r.error());
  const std::filesystem::path data(o.get("data"));
  nlohmann::json stats = {{"events", store.head()},
                          {"streams", streams.size()},
                          {"first_event_at", first_at ? nlohmann::json(domain::format_time(first_at)) : nlohmann::json(nullptr)},
                          {"last_event_at", last_at ? nlohmann::json(domain::format_time(last_at)) : nlohmann::json(nullptr)},
                          {"by_type", by_type},
                          {"by_tenant", by_tenant},
                          {"bytes_on_disk", {{"events", directory_bytes(data / "events")},
                                             {"readmodels", directory_bytes(data / "readmodels")}}}};
  if (o.flags.contains("json")) {
    out << stats.dump(2) << "\n";
    return 0;
  }
  out << "events:   " << store.head() << "\nstreams:  " << streams.size() << "\nfrom:     "
      << stats["first_event_at"].dump() << "\nto:       " << stats["last_event_at"].dump()
      << "\non disk:  events " << stats["bytes_on_disk"]["events"] << " bytes, read models "
      << stats["bytes_on_disk"]["readmodels"] << " bytes\n\nby tenant:\n";
  for (const auto& [t, n] : by_tenant) out << "  " << std::left << std::setw(30) << t << n << "\n";
  out << "\nby type:\n";
  for (const auto& [t, n] : by_type) out << "  " << std::left << std::setw(30) << t << n << "\n";
  return 0;
}

}  // namespace latchkey::replay
