// Read-side benchmark driver (bench/run rebuild).
//
//   latchkey_bench_projections history DIR EVENTS GUARDIANS
//       writes a synthetic but realistic history (families, guardians, logins,
//       failures, resets, redemptions, policies) of EVENTS events to DIR/events
//   latchkey_bench_projections rebuild DIR
//       rebuilds every read model from scratch into DIR/readmodels; prints events/s,
//       the CPU its threads used per event and the share of the machine's CPU
//       the hypervisor stole meanwhile
//   latchkey_bench_projections startup DIR
//       opens the store and the persisted read models as latchkeyd does; prints ms to ready
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <sys/resource.h>

#include "latchkey/domain/events.hpp"
#include "latchkey/domain/streams.hpp"
#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"

using namespace latchkey;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The machine's CPU time so far, from /proc/stat: all of it, and what the
// hypervisor took for other guests (steal). Virtual machines here lose from
// none to a quarter of their time that way, which moves every figure.
struct CpuTime {
  unsigned long long total = 0, steal = 0;
  static CpuTime now() {
    CpuTime t;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    stat >> cpu;
    for (int field = 1; field <= 8 && stat; ++field) {
      unsigned long long ticks = 0;
      stat >> ticks;
      t.total += ticks;
      if (field == 8) t.steal = ticks;
    }
    return t;
  }
};

// CPU seconds this process has used so far, all its threads.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void print_steal(const CpuTime& before) {
  const CpuTime after = CpuTime::now();
  if (after.total <= before.total) return;
  const double stolen = static_cast<double>(after.steal - before.steal) /
                        static_cast<double>(after.total - before.total);
  std::printf("  (%.0f%% of the machine's CPU time was stolen by the hypervisor meanwhile)\n",
              100.0 * stolen);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  return 1;
}

class Writer {
 public:
  explicit Writer(eventstore::EventStore& store) : store_(store) {}
  void add(const std::string& stream, const domain::DomainEvent& e) {
    eventstore::EventData d;
    d.event_id = "bench-" + std::to_string(++count_);
    d.type = std::string(domain::event_type(e));
    d.schema_version = domain::kSchemaVersion;
    d.recorded_at_us = now_us_ += 50'000;
    d.tenant = "bench";
    d.actor = {"staff", "key-bench", "Front Desk"};
    d.correlation_id = "c" + std::to_string(count_);
    d.source_ip = "198.51.100.9";
    d.payload = domain::encode_payload(e);
    auto& writes = request_.streams;
    if (writes.empty() || writes.back().stream_id != stream) {
      writes.push_back({stream, eventstore::ExpectedVersion::any(), {}});
    }
    writes.back().events.push_back(std::move(d));
    if (++pending_ >= 512) flush();
  }
  void flush() {
    if (request_.streams.empty()) return;
    // A stream may appear once per append: merge repeats.
    std::vector<eventstore::StreamWrite> merged;
    for (auto& w : request_.streams) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](auto& m) { return m.stream_id == w.stream_id; });
      if (it == merged.end()) {
        merged.push_back(std::move(w));
      } else {
        for (auto& e : w.events) it->events.push_back(std::move(e));
      }
    }
    request_.streams = std::move(merged);
    auto r = store_.append(std::move(request_));
    if (!r) throw std::runtime_error(r.error().message);
    request_ = {};
    pending_ = 0;
  }
  std::uint64_t count() const { return count_; }

 private:
  eventstore::EventStore& store_;
  eventstore::AppendRequest request_;
  std::size_t pending_ = 0;
  std::uint64_t count_ = 0;
  std::int64_t now_us_ = 1'763'900'000'000'000;
};

int history(const std::string& dir, std::uint64_t events, std::uint64_t guardians) {
  eventstore::RocksDbOptions options;
  options.sync = false;
  auto store = eventstore::open_rocksdb_event_store(dir + "/events", options);
  if (!store) return fail(store.error().message);
  Writer w(**store);
  const std::string t = "bench";
  const std::string hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
  w.add(domain::streams::tenant(t), domain::TenantCreated{t, "Bench Daycare", {}});
  w.add(domain::streams::tenant(t), domain::PolicyPublished{"photo", "Photo release", 1, std::string(64, 'a')});
  std::mt19937_64 rng(42);
  auto id = [](const char* kind, std::uint64_t n) { return std::string(kind) + std::to_string(n); };
  for (std::uint64_t g = 0; g < guardians && w.count() < events; ++g) {
    const auto f = id("f", g / 2), gid = id("g", g), email = "parent" + std::to_string(g) + "@example.com";
    if (g % 2 == 0) {
      w.add(domain::streams::family(t, f), domain::FamilyRegistered{f, "Family " + std::to_string(g / 2)});
      w.add(domain::streams::child(t, id("c", g)), domain::ChildAdded{id("c", g), f, "Kid", "Last" + std::to_string(g % 997)});
    }
    w.add(domain::streams::login(t, email), domain::LoginIdReserved{email, gid});
    w.add(domain::streams::guardian(t, gid),
          domain::GuardianAdded{gid, f, "First" + std::to_string(g % 89), "Last" + std::to_string(g % 997), email,
                                "+1555" + std::to_string(1000000 + g), true});
    w.add(domain::streams::family(t, f), domain::GuardianLinked{f, gid});
    w.add(domain::streams::guardian(t, gid), domain::PortalAccountRegistered{gid, email, hash});
  }
  std::uint64_t n = 0;
  while (w.count() < events) {
    const auto g = rng() % guardians;
    const auto gid = id("g", g);
    const auto stream = domain::streams::guardian(t, gid);
    const auto kind = rng() % 10;
    ++n;
    if (kind < 5) {
      w.add(stream, domain::LoginSucceeded{gid, id("s", n), std::string(64, 'b'), 1'800'000'000'000'000,
                                           "parent" + std::to_string(g) + "@example.com", false, "password", false,
                                           static_cast<std::int64_t>(n)});
    } else if (kind < 7) {
      w.add(stream, domain::LoginFailed{gid, "wrong_password", 1});
    } else if (kind < 8) {
      w.add(stream, domain::ResetRequested{gid, id("r", n), "email", "p***@example.com", std::string(64, 'c'),
                                           1'800'000'000'000'000, "self"});
    } else if (kind < 9) {
      w.add(stream, domain::PasswordChanged{gid, hash, "changed", id("s", n - 1), {}});
    } else {
      w.add(domain::streams::family(t, id("f", g / 2)), domain::PolicyAccepted{id("f", g / 2), "photo", 1, gid});
    }
  }
  w.flush();
  std::printf("history: %llu events, %llu guardians\n", static_cast<unsigned long long>((*store)->head()),
              static_cast<unsigned long long>(guardians));
  return 0;
}

int rebuild(const std::string& dir) {
  eventstore::RocksDbOptions options;
  options.mode = eventstore::RocksDbOptions::Mode::read_only;
  auto store = eventstore::open_rocksdb_event_store(dir + "/events", options);
  if (!store) return fail(store.error().message);
  std::filesystem::remove_all(dir + "/readmodels");
  auto db = projections::open_read_model_db(dir + "/readmodels");
  if (!db) return fail(db.error().message);
  projections::RunnerOptions runner_options;
  if (const char* batch = std::getenv("REBUILD_BATCH")) runner_options.max_batch_events = std::stoul(batch);
  if (const char* rows = std::getenv("REBUILD_CACHED_ROWS")) runner_options.max_cached_rows = std::stoul(rows);
  if (const char* hold = std::getenv("REBUILD_HOLD_AFTER")) runner_options.hold_after_events = std::stoull(hold);
  if (const char* held = std::getenv("REBUILD_MAX_HELD")) runner_options.max_held_writes = std::stoul(held);
  projections::ProjectionRunner runner(**store, **db, projections::make_all_projections(**db), runner_options);
  if (auto r = runner.open(); !r) return fail(r.error().message);
  const auto cpu = CpuTime::now();
  const double cpu_before = process_cpu_seconds();
  const auto started = Clock::now();
  if (auto r = runner.catch_up(); !r) return fail(r.error().message);
  const double s = seconds_since(started);
  std::printf("rebuild: %llu events in %.2f s: %.0f events/s\n", static_cast<unsigned long long>(runner.applied()), s,
              static_cast<double>(runner.applied()) / s);
  const double cpu_seconds = process_cpu_seconds() - cpu_before;
  const double events = static_cast<double>(std::max<std::uint64_t>(1, runner.applied()));
  std::printf("  (%.2f s of CPU on all its threads: %.1f us per event)\n", cpu_seconds,
              cpu_seconds * 1e6 / events);
  print_steal(cpu);
  return 0;
}

// How fast the log can be read and decoded: the ceiling of any rebuild.
int decode(const std::string& dir) {
  eventstore::RocksDbOptions options;
  options.mode = eventstore::RocksDbOptions::Mode::read_only;
  auto store = eventstore::open_rocksdb_event_store(dir + "/events", options);
  if (!store) return fail(store.error().message);
  const auto cpu = CpuTime::now();
  const auto started = Clock::now();
  std::uint64_t n = 0;
  auto r = (*store)->for_each_event(1, (*store)->head(), [&](const eventstore::RecordedEvent& e) {
    n += domain::decode_event(e.data.type, e.data.schema_version, e.data.payload).ok();
    return true;
  });
  if (!r) return fail(r.error().message);
  const double s = seconds_since(started);
  std::printf("decode: %llu events in %.2f s: %.0f events/s\n", static_cast<unsigned long long>(n), s,
              static_cast<double>(n) / s);
  print_steal(cpu);
  return 0;
}

int startup(const std::string& dir) {
  const auto started = Clock::now();
  auto store = eventstore::open_rocksdb_event_store(dir + "/events");
  if (!store) return fail(store.error().message);
  auto db = projections::open_read_model_db(dir + "/readmodels");
  if (!db) return fail(db.error().message);
  projections::ProjectionRunner runner(**store, **db, projections::make_all_projections(**db));
  if (auto r = runner.open(); !r) return fail(r.error().message);
  if (auto r = runner.catch_up(); !r) return fail(r.error().message);
  const double s = seconds_since(started);
  std::printf("startup: %llu events, read models at %llu, ready in %.0f ms\n",
              static_cast<unsigned long long>((*store)->head()), static_cast<unsigned long long>(runner.applied()),
              s * 1000);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "history" && argc == 5) return history(argv[2], std::stoull(argv[3]), std::stoull(argv[4]));
    if (cmd == "rebuild" && argc == 3) return rebuild(argv[2]);
    if (cmd == "startup" && argc == 3) return startup(argv[2]);
    if (cmd == "decode" && argc == 3) return decode(argv[2]);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return fail("usage: latchkey_bench_projections history DIR EVENTS GUARDIANS | rebuild DIR | startup DIR");
}
