// End-to-end: the real latchkeyd on 127.0.0.1, a free port and a temp dir.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;

class Latchkeyd {
 public:
  Latchkeyd(const TempDir& dir, const std::string& log_name)
      : port_(free_port()),
        process_(LATCHKEYD, {"--data", dir.str("data"), "--listen", "127.0.0.1:" + std::to_string(port_)},
                 dir.str(log_name)) {
    for (int i = 0; i < 500 && ready() == false; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  bool ready() { return request(port_, "GET", "/readyz").status == 200; }
  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return process_; }

 private:
  std::uint16_t port_;
  ChildProcess process_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts latchkeyd on `dir`, waits until it serves, stops it with SIGTERM and
// returns what it printed.
std::string start_and_stop(const TempDir& dir, const std::string& log_name) {
  Latchkeyd server(dir, log_name);
  EXPECT_TRUE(server.ready()) << server.process().output();
  EXPECT_EQ(server.process().signal_and_wait(SIGTERM), 0) << "SIGTERM is a clean shutdown";
  return server.process().output();
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
  Latchkeyd server(dir, "server.log");
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
}

TEST(LatchkeydTest, RefusalsAreProblemJson) {
  TempDir dir;
  Latchkeyd server(dir, "server.log");
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

TEST(LatchkeydTest, BadFlagsExitWithUsage) {
  TempDir dir;
  ChildProcess bad(LATCHKEYD, {"--no-such-flag"}, dir.str("bad.log"));
  EXPECT_EQ(bad.wait(), 2);
  EXPECT_NE(bad.output().find("usage: latchkeyd"), std::string::npos);
}

}  // namespace
}  // namespace latchkey
