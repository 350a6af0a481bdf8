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
  explicit RunningServer(http::AsyncHandler handler,
                         std::chrono::milliseconds drain_timeout = std::chrono::seconds(10)) {
    http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.io_threads = 1;
    options.drain_timeout = drain_timeout;
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

// A keep-alive client does not read a body after HEAD: the answer says how
// long the body is and leaves it out, so the next answer starts right after.
TEST(Answers, HeadHasTheLengthButNoBodyAndTheConnectionStaysInStep) {
  RunningServer server([](http::Request request, http::Respond respond) {
    respond({200, "application/json", R"({"method":")" + request.method + "\"}", {}});
  });
  auto reply = raw_exchange(server.port(),
                            "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n"
                            "GET /y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.head.find("Content-Length: 17"), std::string::npos) << reply.head;
  ASSERT_EQ(reply.body.rfind("HTTP/1.1 200", 0), 0u) << "a body followed the HEAD answer: " << reply.body;
  EXPECT_NE(reply.body.find(R"({"method":"GET"})"), std::string::npos);
}

TEST(Answers, NoContentHasNoBodyAndNoLength) {
  RunningServer server([](http::Request request, http::Respond respond) {
    if (request.target == "/none") return respond({204, "application/json", "ignored", {}});
    respond({200, "application/json", "{}", {}});
  });
  auto reply = raw_exchange(server.port(),
                            "DELETE /none HTTP/1.1\r\nHost: t\r\n\r\n"
                            "GET /y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.status, 204);
  EXPECT_EQ(reply.head.find("Content-Length"), std::string::npos) << reply.head;
  EXPECT_EQ(reply.body.rfind("HTTP/1.1 200", 0), 0u) << reply.body;
}

// Header names must be tokens and values printable; the framing headers are
// the server's alone.
TEST(Answers, UnsafeOrFramingHeadersFromAHandlerAreNeverWritten) {
  RunningServer server([](http::Request, http::Respond respond) {
    respond({200, "text/plain\r\nX-Injected: 1", "hello",
             {{"X-Fine", "yes"},
              {"Bad Name", "x"},
              {"X-Control", std::string("a\x01b")},
              {"X-Split", "a\r\nX-Injected: 2"},
              {"Content-Length", "1"},
              {"Transfer-Encoding", "chunked"},
              {"", "empty"}}});
  });
  auto reply = request(server.port(), "GET", "/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hello");
  EXPECT_NE(reply.head.find("X-Fine: yes"), std::string::npos);
  for (const char* bad : {"X-Injected", "Bad Name", "X-Control", "X-Split", "Content-Length: 1", "chunked",
                          "Content-Type"}) {
    EXPECT_EQ(reply.head.find(bad), std::string::npos) << bad << " in\n" << reply.head;
  }
}

// A worker may answer after the shutdown gave up waiting and the server is
// destroyed: the answer is dropped (under ASan, touching the freed
// io_context here would fail the test).
TEST(AsyncHandlers, AnAnswerAfterTheServerIsGoneIsDropped) {
  std::promise<http::Respond> held;
  auto got = held.get_future();
  auto server = std::make_unique<RunningServer>(
      [&held](http::Request, http::Respond respond) { held.set_value(std::move(respond)); }, 100ms);
  auto client = std::async(std::launch::async, [port = server->port()] { return request(port, "GET", "/late"); });
  ASSERT_EQ(got.wait_for(5s), std::future_status::ready);
  http::Respond respond = got.get();
  server.reset();  // the drain gives up after 100 ms; the connection ends unanswered
  respond({200, "application/json", "{}", {}});
  EXPECT_EQ(client.get().status, 0);
}

}  // namespace
}  // namespace latchkey::testing
