// as-of and rebuild: the read models at any moment, and from scratch.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"
#include "options.hpp"

namespace latchkey::replay {
namespace {

constexpr const char* kAsOfUsage = R"(usage: latchkey-replay as-of --data DIR (--time RFC3339 | --position P) QUERY --tenant T [...]
What a read model answered at a past moment, as the same JSON the HTTP API
gives. The read models are rebuilt from the log up to that moment in a
temporary directory; time-dependent answers (locks, link expiry) are computed
at that moment too. --time picks the last event recorded at or before it.

QUERY:
  guardian --guardian G          the guardian's contact record and login state
  family --family F              the family with guardian cards and children
  family-policies --family F     accepted and outstanding policies
  acceptances --policy P [--version V]   who accepted policy P
  sms-credits                    the SMS balance and ledger
  settings                       the tenant's settings
)";
constexpr const char* kRebuildUsage = R"(usage: latchkey-replay rebuild --data DIR [--projection NAME]
Drops the read models (or one of them: tenants, login_state, directory,
sessions, policy_acceptances, sms_credits, audit) and rebuilds them from the
log. The server must be stopped: it holds the read models while it runs.
)";

class FixedClock final : public domain::Clock {
 public:
  explicit FixedClock(domain::Micros at) : at_(at) {}
  domain::Micros now_us() const override { return at_; }

 private:
  domain::Micros at_;
};

}  // namespace

int as_of_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kAsOfUsage, 0;
  const auto tenant = o.get("tenant");
  if (!o.has("data") || tenant.empty() || o.words.size() != 1 || o.has("time") == o.has("position")) {
    return usage_error(err, "as-of needs --data, --tenant, one of --time/--position and one QUERY", kAsOfUsage);
  }
  auto log = Log::open(o.get("data"));
  if (!log) return report_error(err, log.error());
  auto& store = (*log)->store();

  std::uint64_t position = 0;
  domain::Micros at = 0;
  if (o.has("position")) {
    const auto text = o.get("position");
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) {
      return usage_error(err, "--position is a whole number", kAsOfUsage);
    }
    position = std::stoull(text);
    if (position < 1 || position > store.head()) {
      err << "latchkey-replay: the log has positions 1.." << store.head() << "\n";
      return 2;
    }
    auto e = store.read_all(position, 1);
    if (!e || e->empty()) return report_error(err, e ? make_error("not_found", "no such position") : e.error());
    at = e->front().data.recorded_at_us;
  } else {
    auto t = domain::parse_time(o.get("time"));
    if (!t) return usage_error(err, "--time is an RFC 3339 time (2026-11-23T10:00:00Z)", kAsOfUsage);
    at = *t;
    auto r = store.for_each_event(1, store.head(), [&](const eventstore::RecordedEvent& e) {
      if (e.data.recorded_at_us > at) return false;
      position = e.position;
      return true;
    });
    if (!r) return report_error(err, r.error());
  }

  TempDir dir("latchkey-as-of");
  if (dir.path().empty()) return report_error(err, make_error("storage_error", "cannot make a temporary directory"));
  auto db = projections::open_read_model_db(dir.path() + "/readmodels");
  if (!db) return report_error(err, db.error());
  projections::ProjectionRunner runner(store, **db, projections::make_all_projections(**db));
  if (auto r = runner.open(); !r) return report_error(err, r.error());
  if (position > 0) {
    if (auto r = runner.catch_up(position); !r) return report_error(err, r.error());
  }
  FixedClock clock(at);
  projections::ReadModels answers(**db, store, clock);

  const auto& query = o.words[0];
  Result<nlohmann::json> answer = make_error("invalid_input", "unknown query " + query);
  if (query == "guardian" && o.has("guardian")) {
    answer = answers.guardian(tenant, o.get("guardian"));
  } else if (query == "family" && o.has("family")) {
    answer = answers.family(tenant, o.get("family"));
  } else if (query == "family-policies" && o.has("family")) {
    answer = answers.family_policies(tenant, o.get("family"));
  } else if (query == "acceptances" && o.has("policy")) {
    std::int64_t version = 0;
    if (o.has("version")) {
      const auto v = o.get("version");
      if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
        return usage_error(err, "--version is a whole number", kAsOfUsage);
      }
      version = std::stoll(v);
    }
    answer = answers.acceptances(tenant, o.get("policy"), version, "", 1000);
  } else if (query == "sms-credits") {
    answer = answers.sms_credits(tenant, "", 1000);
  } else if (query == "settings") {
    answer = answers.settings(tenant);
  } else {
    return usage_error(err, "unknown query or missing option: " + query, kAsOfUsage);
  }
  err << "as of position " << position << " (" << domain::format_time(at) << ")\n";
  if (!answer) {
    out << nlohmann::json{{"code", answer.error().code}, {"title", answer.error().message}}.dump(2) << "\n";
    return answer.error().code == "not_found" ? 0 : 2;
  }
  out << answer->dump(2) << "\n";
  return 0;
}

int rebuild_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kRebuildUsage, 0;
  if (!o.has("data")) return usage_error(err, "rebuild needs --data DIR", kRebuildUsage);
  auto log = Log::open(o.get("data"));
  if (!log) return report_error(err, log.error());
  auto& store = (*log)->store();
  auto db = projections::open_read_model_db(o.get("data") + "/readmodels");
  if (!db) {
    err << "latchkey-replay: cannot open the read models (is latchkeyd running? stop it first): "
        << db.error().message << "\n";
    return 2;
  }
  projections::ProjectionRunner runner(store, **db, projections::make_all_projections(**db));
  if (auto r = runner.open(); !r) return report_error(err, r.error());
  if (auto r = runner.reset(o.get("projection")); !r) return report_error(err, r.error());

  const bool terminal = &err == &std::cerr && ::isatty(2);
  const auto started = std::chrono::steady_clock::now();
  auto progress = [&](std::uint64_t done, std::uint64_t target) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    const double eta = rate > 0 ? static_cast<double>(target - done) / rate : 0;
    const int width = 30;
    const int filled = target ? static_cast<int>(width * done / target) : width;
    char line[200];
    std::snprintf(line, sizeof line, "[%s%s] %3d%% %llu/%llu events  %.0f events/s  ETA %.0f s",
                  std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(width - filled), '.').c_str(),
                  target ? static_cast<int>(100 * done / target) : 100, static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(target), rate, eta);
    err << (terminal ? "\r" : "") << line << (terminal ? "" : "\n") << std::flush;
  };
  auto r = runner.catch_up(0, progress);
  if (terminal) err << "\n";
  if (!r) return report_error(err, r.error());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out << "rebuilt " << (o.has("projection") ? o.get("projection") : std::string("every read model")) << ": "
      << runner.applied() << " events in " << s << " s\n";
  return 0;
}

}  // namespace latchkey::replay
