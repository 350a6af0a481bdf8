// The HTTP server with asynchronous handlers: a handler may answer later, from
// another thread, and while it works the I/O thread serves other requests.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "latchkey/http/server.hpp"
#include "support/http_client.hpp"

namespace latchkey::testing {
namespace {

using namespace std::chrono_literals;

// Runs a server with one I/O thread on a free port until destroyed.
class RunningServer {
 public:
  explicit RunningServer(http::AsyncHandler handler) {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.io_threads = 1;
    auto bound = http::Server::bind(options, std::move(handler));
    if (!bound) throw std::runtime_error(bound.error().message);
    server_ = std::move(*bound);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

TEST(AsyncHandlers, ASlowAnswerDoesNotHoldTheIoThread) {
  std::vector<std::thread> workers;
  std::mutex mutex;
  RunningServer server([&](http::Request request, http::Respond respond) {
    if (request.target == "/slow") {
      std::lock_guard lock(mutex);
      workers.emplace_back([respond] {
        std::this_thread::sleep_for(600ms);  // Argon2id, a durable append …
        respond({200, "application/json", R"({"slow":true})", {}});
      });
      return;
    }
    respond({200, "application/json", R"({"fast":true})", {}});
  });
  auto slow = std::async(std::launch::async, [&] { return request(server.port(), "GET", "/slow"); });
  std::this_thread::sleep_for(100ms);  // the slow request is in its handler now
  const auto started = std::chrono::steady_clock::now();
  auto fast = request(server.port(), "GET", "/fast");
  const auto fast_took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(fast.status, 200);
  EXPECT_NE(fast.body.find("fast"), std::string::npos);
  EXPECT_LT(fast_took, 400ms) << "the fast request waited for the slow one";
  auto slow_reply = slow.get();
  EXPECT_EQ(slow_reply.status, 200);
  EXPECT_NE(slow_reply.body.find("slow"), std::string::npos);
  std::lock_guard lock(mutex);
  for (auto& w : workers) w.join();
}

TEST(AsyncHandlers, OnlyTheFirstAnswerCountsAndAThrowIsA500) {
  RunningServer server([](http::Request request, http::Respond respond) {
    if (request.target == "/throw") throw std::runtime_error("boom");
    respond({201, "application/json", "{\"first\":1}", {}});
    respond({500, "application/json", "{\"second\":2}", {}});
  });
  auto twice = request(server.port(), "GET", "/twice");
  EXPECT_EQ(twice.status, 201);
  EXPECT_EQ(twice.body.find("second"), std::string::npos);
  auto thrown = request(server.port(), "GET", "/throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body.find("boom"), std::string::npos);  // no internals leak
}

}  // namespace
}  // namespace latchkey::testing
