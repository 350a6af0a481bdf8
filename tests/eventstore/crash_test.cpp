// Durability under kill -9: a child process appends from 8 threads and reports
// every acknowledged append through a pipe; the test kills it at a random
// moment, reopens the store and checks that every acknowledged event is there,
// intact, at its reported position, that positions are dense and that the
// chain verifies. Twenty kill cycles on one store.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <sstream>
#include <unordered_map>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace latchkey::eventstore {
namespace {

using latchkey::testing::TempDir;
using Clock = std::chrono::steady_clock;

struct Acked {
  std::uint64_t last_position;
  std::vector<std::string> event_ids;
};

class CrashingWriter {
 public:
  CrashingWriter(const std::string& db, int threads) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::string threads_arg = std::to_string(threads);
    std::string program = LATCHKEY_CRASH_WRITER;
    char* argv[] = {program.data(), const_cast<char*>(db.c_str()), threads_arg.data(), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
  }

  ~CrashingWriter() {
    if (pid_ > 0) kill_now();
    if (read_fd_ >= 0) ::close(read_fd_);
  }

  // Reads acknowledgements until `deadline` (measured from the first one).
  void read_for(std::chrono::milliseconds after_first_ack) {
    std::optional<Clock::time_point> deadline;
    ::fcntl(read_fd_, F_SETFL, O_NONBLOCK);
    auto give_up = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < give_up && (!deadline || Clock::now() < *deadline)) {
      if (!drain()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (!deadline && !acked_.empty()) deadline = Clock::now() + after_first_ack;
    }
  }

  void kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::fcntl(read_fd_, F_SETFL, 0);
    while (drain()) {
    }
  }

  const std::vector<Acked>& acked() const { return acked_; }

 private:
  // Reads what is available; returns false when nothing was.
  bool drain() {
    char buf[65536];
    ssize_t n = ::read(read_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      std::istringstream line(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
      Acked a;
      std::string ids;
      line >> a.last_position >> ids;
      std::stringstream split(ids);
      for (std::string id; std::getline(split, id, ',');) a.event_ids.push_back(id);
      acked_.push_back(std::move(a));
    }
    return true;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string partial_;
  std::vector<Acked> acked_;
};

TEST(CrashTest, KillNineNeverLosesAnAcknowledgedAppend) {
  constexpr int kCycles = 20;
  TempDir dir;
  const std::string db = dir.str("db");
  std::random_device rd;
  const unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> run_ms(5, 250);

  std::size_t total_acked = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    std::vector<Acked> acked;
    {
      CrashingWriter writer(db, 8);
      writer.read_for(std::chrono::milliseconds(run_ms(rng)));
      writer.kill_now();
      acked = writer.acked();
    }
    ASSERT_FALSE(acked.empty()) << "the writer acknowledged nothing before it was killed";
    total_acked += acked.size();

    auto opened = open_rocksdb_event_store(db);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EventStore& store = **opened;
    auto report = store.verify();
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->ok) << "chain breaks at " << report->first_bad_position << ": "
                            << report->problem;

    std::unordered_map<std::string, std::uint64_t> position_of;
    std::uint64_t expected = 1;
    auto scan = store.for_each_event(1, store.head(), [&](const RecordedEvent& e) {
      EXPECT_EQ(e.position, expected++);
      position_of.emplace(e.data.event_id, e.position);
      return true;
    });
    ASSERT_TRUE(scan.ok()) << scan.error().message;
    for (const auto& a : acked) {
      EXPECT_LE(a.last_position, store.head());
      std::uint64_t highest = 0;
      for (const auto& id : a.event_ids) {
        auto it = position_of.find(id);
        ASSERT_NE(it, position_of.end()) << "acknowledged event " << id << " was lost";
        highest = std::max(highest, it->second);
      }
      EXPECT_EQ(highest, a.last_position) << "an event moved from its acknowledged position";
    }
  }
  RecordProperty("acknowledged_appends", static_cast<int>(total_acked));
}

}  // namespace
}  // namespace latchkey::eventstore
