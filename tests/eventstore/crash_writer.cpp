// Child process of the crash test: appends from several threads forever and
// writes one line per acknowledged append to stdout:
//   <last_position> <event_id>[,<event_id>...]
// The parent kills it with SIGKILL at a random moment.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"

using namespace latchkey::eventstore;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DB_PATH THREADS\n", argv[0]);
    return 2;
  }
  auto opened = open_rocksdb_event_store(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  EventStore& store = **opened;
  const int threads = std::stoi(argv[2]);
  const std::string run = std::to_string(::getpid());
  std::mutex out_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string stream = "writer-" + std::to_string(t);
      auto last = store.read_last(stream);
      if (!last.ok()) std::abort();
      std::uint64_t version = last->has_value() ? (*last)->stream_version : 0;
      for (std::uint64_t n = 0;; ++n) {
        AppendRequest r;
        StreamWrite own{stream, ExpectedVersion::exactly(version), {}};
        std::string ids;
        for (std::uint64_t k = 0; k < 1 + n % 3; ++k) {
          EventData e;
          e.event_id = run + "-" + std::to_string(t) + "-" + std::to_string(n) + "-" +
                       std::to_string(k);
          e.type = "CrashTestEvent";
          e.tenant = "crash";
          e.actor = {"system", "", "crash-writer"};
          e.payload = std::string(300, static_cast<char>('a' + (n + k) % 26));
          ids += (ids.empty() ? "" : ",") + e.event_id;
          own.events.push_back(std::move(e));
        }
        std::size_t own_events = own.events.size();
        r.streams.push_back(std::move(own));
        if (n % 4 == 0) {
          EventData shared;
          shared.event_id = run + "-" + std::to_string(t) + "-" + std::to_string(n) + "-s";
          shared.type = "CrashTestShared";
          shared.tenant = "crash";
          shared.payload = "{}";
          ids += "," + shared.event_id;
          r.streams.push_back({"shared", ExpectedVersion::any(), {std::move(shared)}});
        }
        auto result = store.append(std::move(r));
        if (!result.ok()) {
          std::fprintf(stderr, "append: %s\n", result.error().message.c_str());
          std::abort();
        }
        version += own_events;
        std::string line = std::to_string(result->last_position) + " " + ids + "\n";
        std::lock_guard lock(out_mu);
        if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) std::abort();
      }
    });
  }
  for (auto& w : workers) w.join();
}
