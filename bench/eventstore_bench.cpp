// Event store workloads for bench/run, which runs RocksDB's db_bench beside
// them. Prints one line "<workload> <ops> ops <seconds> s <ops/s> ops/s".
//
//   latchkey_bench_eventstore appends  DIR THREADS PER_THREAD
//       durable appends, one ~400-byte event each, every writer on its own
//       stream with an exact expected version
//   latchkey_bench_eventstore populate DIR EVENTS
//       fills a store quickly (unsynced batches) for the read benchmark
//   latchkey_bench_eventstore readall  DIR
//       reads the whole log in order through for_each_event
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"

using namespace latchkey::eventstore;
using Clock = std::chrono::steady_clock;

namespace {

// ~400 bytes stored: 300 bytes of payload plus the envelope.
EventData bench_event(const std::string& id) {
  EventData e;
  e.event_id = id;
  e.type = "ResetRequested";
  e.recorded_at_us = 1'700'000'000'000'000;
  e.tenant = "bench-tenant";
  e.actor = {"staff", "key-0001", "Bench Front Desk"};
  e.correlation_id = "0b7c3e1e-9a51-4c1e-8f5b-2d7f1f0c1a11";
  e.source_ip = "127.0.0.1";
  e.payload = R"({"guardian_id":"g-000001","channel":"email","token_hash":")" +
              std::string(64, 'f') + R"(","expires_at":"2026-11-23T10:30:00Z","note":")" +
              std::string(150, 'x') + "\"}";
  return e;
}

std::unique_ptr<EventStore> open_or_die(const std::string& dir, bool sync) {
  RocksDbOptions options;
  options.sync = sync;
  auto store = open_rocksdb_event_store(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(), store.error().message.c_str());
    std::exit(1);
  }
  return std::move(store).value();
}

void report(const char* name, std::uint64_t ops, Clock::duration elapsed) {
  double s = std::chrono::duration<double>(elapsed).count();
  std::printf("%s %llu ops %.3f s %.0f ops/s\n", name, static_cast<unsigned long long>(ops), s,
              static_cast<double>(ops) / s);
}

int appends(const std::string& dir, int threads, int per_thread) {
  auto store = open_or_die(dir, true);
  std::vector<std::thread> workers;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string stream = "writer-" + std::to_string(t);
      for (int i = 0; i < per_thread; ++i) {
        AppendRequest r;
        r.streams.push_back({stream, ExpectedVersion::exactly(static_cast<std::uint64_t>(i)),
                             {bench_event(stream + "-" + std::to_string(i))}});
        auto result = store->append(std::move(r));
        if (!result.ok()) {
          std::fprintf(stderr, "append failed: %s\n", result.error().message.c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  report("appends", static_cast<std::uint64_t>(threads) * per_thread, Clock::now() - start);
  return 0;
}

// The same workload through append_async: 16 writers, each issuing its next
// append from the completion of its previous one (as a server's requests do),
// with no thread blocked per writer.
int appends_async(const std::string& dir, int writers, int per_writer) {
  auto store = open_or_die(dir, true);
  std::vector<int> issued(static_cast<std::size_t>(writers), 0);
  std::atomic<int> finished{0};
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::function<void(int)> issue = [&](int w) {
    std::string stream = "writer-" + std::to_string(w);
    int i = issued[static_cast<std::size_t>(w)]++;
    AppendRequest r;
    r.streams.push_back({stream, ExpectedVersion::exactly(static_cast<std::uint64_t>(i)),
                         {bench_event(stream + "-" + std::to_string(i))}});
    store->append_async(std::move(r), [&, w, i](latchkey::Result<AppendResult> result) {
      if (!result.ok()) {
        std::fprintf(stderr, "append failed: %s\n", result.error().message.c_str());
        std::exit(1);
      }
      if (i + 1 < per_writer) {
        issue(w);
      } else if (finished.fetch_add(1) + 1 == writers) {
        std::lock_guard lock(done_mu);
        done_cv.notify_one();
      }
    });
  };
  auto start = Clock::now();
  for (int w = 0; w < writers; ++w) issue(w);
  {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return finished.load() == writers; });
  }
  report("appends-async", static_cast<std::uint64_t>(writers) * per_writer, Clock::now() - start);
  return 0;
}

int populate(const std::string& dir, std::uint64_t events) {
  auto store = open_or_die(dir, false);
  constexpr std::uint64_t kBatch = 1000;
  auto start = Clock::now();
  for (std::uint64_t done = 0; done < events;) {
    AppendRequest r;
    StreamWrite sw{"stream-" + std::to_string(done / kBatch), ExpectedVersion::any(), {}};
    for (std::uint64_t k = 0; k < kBatch && done < events; ++k, ++done) {
      sw.events.push_back(bench_event("e-" + std::to_string(done)));
    }
    r.streams.push_back(std::move(sw));
    if (auto result = store->append(std::move(r)); !result.ok()) {
      std::fprintf(stderr, "populate failed: %s\n", result.error().message.c_str());
      return 1;
    }
  }
  report("populate", events, Clock::now() - start);
  return 0;
}

int readall(const std::string& dir) {
  RocksDbOptions options;
  options.mode = RocksDbOptions::Mode::read_only;
  auto opened = open_rocksdb_event_store(dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(), opened.error().message.c_str());
    return 1;
  }
  auto& store = **opened;
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  auto start = Clock::now();
  auto r = store.for_each_event(1, store.head(), [&](const RecordedEvent& e) {
    ++count;
    bytes += e.data.payload.size();
    return true;
  });
  auto elapsed = Clock::now() - start;
  if (!r.ok()) {
    std::fprintf(stderr, "read failed: %s\n", r.error().message.c_str());
    return 1;
  }
  report("readall", count, elapsed);
  return bytes > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 4 && args[0] == "appends") {
    return appends(args[1], std::stoi(args[2]), std::stoi(args[3]));
  }
  if (args.size() == 4 && args[0] == "appends-async") {
    return appends_async(args[1], std::stoi(args[2]), std::stoi(args[3]));
  }
  if (args.size() == 3 && args[0] == "populate") return populate(args[1], std::stoull(args[2]));
  if (args.size() == 2 && args[0] == "readall") return readall(args[1]);
  std::fprintf(stderr,
               "usage: %s appends|appends-async DIR WRITERS PER_WRITER | populate DIR EVENTS | "
               "readall DIR\n",
               argv[0]);
  return 2;
}
