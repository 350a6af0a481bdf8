// End-to-end: the real latchkeyd on 127.0.0.1, a free port and a temp dir.
#include <sys/resource.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/latchkeyd.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts latchkeyd on `dir`, waits until it serves, stops it with SIGTERM and
// returns what it printed.
std::string start_and_stop(const TempDir& dir, const std::string& log_name) {
  LatchkeydProcess server(dir, {}, log_name);
  EXPECT_TRUE(server.ready()) << server.process().output();
  EXPECT_EQ(server.process().signal_and_wait(SIGTERM), 0) << "SIGTERM is a clean shutdown";
  return server.process().output();
}

// The test support tells this process's listening socket from another's, so
// that a test never drives a server other than the one it started.
TEST(LatchkeydTest, TheSupportTellsWhichProcessListensOnAPort) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not the sleeper's too
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::uint16_t port = ntohs(addr.sin_port);
  EXPECT_FALSE(listens_on(::getpid(), port)) << "bound, not listening";
  ASSERT_EQ(::listen(fd, 1), 0);
  EXPECT_TRUE(listens_on(::getpid(), port));
  EXPECT_FALSE(listens_on(::getpid(), static_cast<std::uint16_t>(port + 1)));
  TempDir dir;
  ChildProcess sleeper("/bin/sleep", {"5"}, dir.str("sleep.log"));
  EXPECT_FALSE(listens_on(sleeper.pid(), port)) << "another process";
  EXPECT_FALSE(has_exited(sleeper.pid()));
  EXPECT_FALSE(has_exited(::getpid()));
  ChildProcess done("/bin/true", {}, dir.str("true.log"));
  for (int i = 0; i < 500 && !has_exited(done.pid()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(has_exited(done.pid())) << "a zombie counts as exited";
  ::close(fd);
}

TEST(LatchkeydTest, FirstStartPrintsThePlatformKeyOnceAndKeepsIt) {
  TempDir dir;
  std::string first = start_and_stop(dir, "first.log");
  std::string key = read_file(dir.str("data/platform.key"));
  ASSERT_FALSE(key.empty());
  key.erase(key.find_last_not_of('\n') + 1);
  EXPECT_EQ(key.rfind("lk_platform_", 0), 0u);
  EXPECT_NE(first.find(key), std::string::npos) << "the key is printed on first start";
  struct stat st{};
  ASSERT_EQ(::stat(dir.str("data/platform.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.str("data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "a data directory latchkeyd creates is its owner's alone";

  std::string second = start_and_stop(dir, "second.log");
  EXPECT_EQ(second.find(key), std::string::npos) << "the key is never printed again";
  EXPECT_EQ(read_file(dir.str("data/platform.key")).find(key), 0u);
}

TEST(LatchkeydTest, HealthReadinessAndMetricsAnswer) {
  TempDir dir;
  LatchkeydProcess server(dir);
  ASSERT_TRUE(server.ready());
  auto health = request(server.port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  auto ready = request(server.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find(R"("position":1)"), std::string::npos) << ready.body;
  auto metrics = request(server.port(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("latchkey_events_appended_total 1\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("latchkey_hash_pool_queue"), std::string::npos);
  EXPECT_NE(metrics.body.find("latchkey_projection_lag_events"), std::string::npos);
  EXPECT_NE(metrics.body.find("latchkey_http_request_duration_seconds_bucket{method=\"GET\",route=\"/readyz\",le=\"0.005\"}"), std::string::npos);
  // Where the memory goes.
  auto value = [&](const std::string& series) {
    const auto at = metrics.body.find("\n" + series + " ");
    EXPECT_NE(at, std::string::npos) << series;
    return at == std::string::npos ? -1.0 : std::stod(metrics.body.substr(at + series.size() + 2));
  };
  EXPECT_GT(value("process_resident_memory_bytes"), 1 << 20);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer's allocator is not glibc's
  EXPECT_GT(value("latchkey_heap_bytes{state=\"in_use\"}"), 0);
#endif
  EXPECT_GE(value("latchkey_heap_bytes{state=\"free\"}"), 0);
  EXPECT_GT(value("latchkey_store_memory_bytes{store=\"log\",part=\"memtables\"}"), 0) << "the first event";
  for (const std::string store : {"log", "read_models"}) {
    for (const std::string part : {"block_cache", "memtables", "table_readers"}) {
      EXPECT_GE(value("latchkey_store_memory_bytes{store=\"" + store + "\",part=\"" + part + "\"}"), 0);
    }
  }
  EXPECT_GE(value("latchkey_write_models_cached"), 0);
  EXPECT_GE(value("latchkey_projection_cached_rows"), 0);
}

TEST(LatchkeydTest, RefusalsAreProblemJson) {
  TempDir dir;
  LatchkeydProcess server(dir);
  ASSERT_TRUE(server.ready());
  auto missing = request(server.port(), "GET", "/v1/nothing-here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.head.find("application/problem+json"), std::string::npos);
  EXPECT_NE(missing.body.find(R"("code":"not_found")"), std::string::npos);

  auto wrong_method = request(server.port(), "POST", "/healthz", "{}");
  EXPECT_EQ(wrong_method.status, 405);

  auto garbage = raw_exchange(server.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);

  std::string big(70 * 1024, 'x');
  auto oversized = request(server.port(), "POST", "/healthz", big);
  EXPECT_EQ(oversized.status, 413);

  std::string huge_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                            std::string(16 * 1024, 'a') + "\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(raw_exchange(server.port(), huge_header).status, 431);
  EXPECT_TRUE(server.ready()) << "the server still serves after bad input";
}

// Each thread of a process: its name and nice value, from /proc. A thread
// that ends while this reads is left out.
std::vector<std::pair<std::string, int>> nice_of_threads(pid_t pid) {
  std::vector<std::pair<std::string, int>> threads;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string comm = read_file(task.path() / "comm");
    if (comm.empty()) continue;
    comm.erase(comm.find_last_not_of('\n') + 1);
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename())));
    if (errno == 0) threads.emplace_back(comm, nice);
  }
  return threads;
}

// How many of `threads` are named `name`; every one of them must have
// `nice`, and every other thread `others`.
int check_nice(const std::vector<std::pair<std::string, int>>& threads, const std::string& name,
               int nice, int others) {
  int named = 0;
  for (const auto& [comm, value] : threads) {
    EXPECT_EQ(value, comm == name ? nice : others) << comm;
    named += comm == name;
  }
  return named;
}

// The pools' sizes come from flags and LATCHKEY_* variables; by default
// commands run on a few threads (they do not wait for the fsync) and
// waiting queries on 64. Argon2id runs 10 nice steps below the server
// unless told otherwise, every other thread at the server's priority.
TEST(LatchkeydTest, PoolSizesComeFromFlagsAndTheEnvironment) {
  auto threads_of = [](const std::string& metrics, const std::string& pool) {
    const std::string name = "\nlatchkey_" + pool + "_pool_threads ";  // not the HELP line
    auto at = metrics.find(name);
    return at == std::string::npos ? -1 : std::stoi(metrics.substr(at + name.size()));
  };
  const int own = ::getpriority(PRIO_PROCESS, 0);  // the server's threads start at it
  {
    TempDir dir;
    LatchkeydProcess server(dir);
    ASSERT_TRUE(server.ready());
    auto metrics = request(server.port(), "GET", "/metrics").body;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    EXPECT_EQ(threads_of(metrics, "command"), std::max(2, cores)) << metrics;
    EXPECT_EQ(threads_of(metrics, "wait"), 64);
    EXPECT_NE(metrics.find("\nlatchkey_http_io_threads " + std::to_string(std::max(1, cores / 2)) + "\n"),
              std::string::npos);
    EXPECT_NE(metrics.find("latchkey_answers_awaiting_durability 0\n"), std::string::npos);
    const auto threads = nice_of_threads(server.process().pid());
    EXPECT_EQ(check_nice(threads, "lk-hash", std::min(own + 10, 19), own), cores);
    EXPECT_GT(threads.size(), static_cast<std::size_t>(cores + 64)) << "the pools' threads were seen";
  }
  ::setenv("LATCHKEY_WAIT_WORKERS", "5", 1);
  TempDir dir;
  LatchkeydProcess server(dir, {"--command-workers", "3", "--io-threads", "3", "--hash-workers", "2",
                                "--hash-nice", "0"});
  ::unsetenv("LATCHKEY_WAIT_WORKERS");
  ASSERT_TRUE(server.ready());
  auto metrics = request(server.port(), "GET", "/metrics").body;
  EXPECT_EQ(threads_of(metrics, "command"), 3);
  EXPECT_EQ(threads_of(metrics, "wait"), 5);
  EXPECT_NE(metrics.find("\nlatchkey_http_io_threads 3\n"), std::string::npos) << metrics;
  EXPECT_EQ(check_nice(nice_of_threads(server.process().pid()), "lk-hash", own, own), 2);
}

TEST(LatchkeydTest, BadFlagsExitWithUsage) {
  TempDir dir;
  ChildProcess bad(LATCHKEYD, {"--no-such-flag"}, dir.str("bad.log"));
  EXPECT_EQ(bad.wait(), 2);
  EXPECT_NE(bad.output().find("usage: latchkeyd"), std::string::npos);
}

}  // namespace
}  // namespace latchkey
