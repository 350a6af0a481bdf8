// The SMS webhook client against scripted gateways on 127.0.0.1: the exact
// request, what each answer means, answers that keep the connection open or
// run long, gateways that hang up or never answer.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

#include "latchkey/notifications/transports.hpp"
#include "scripted_server.hpp"

namespace latchkey::notifications {
namespace {

using namespace std::chrono_literals;

domain::OutboxMessage text() {
  domain::OutboxMessage m;
  m.id = "msg-7";
  m.to = "+15551230000";
  m.body = "Sunny Days: reset your password at https://portal.example/r/abc";
  return m;
}

std::unique_ptr<Transport> client(std::uint16_t port, std::chrono::milliseconds timeout = 2s) {
  auto t = open_webhook_transport(
      WebhookOptions{"http://127.0.0.1:" + std::to_string(port) + "/hooks/sms?k=1", "", timeout});
  EXPECT_TRUE(t.ok()) << t.error().message;
  return std::move(*t);
}

struct Request {
  std::string line;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Reads one request: its head line by line, then Content-Length bytes.
Request read_request(ScriptedServer& s) {
  Request r;
  r.line = s.line();
  for (auto l = s.line(); !l.empty(); l = s.line()) {
    auto colon = l.find(':');
    std::string name = l.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = l.substr(colon + 2);
  }
  r.body = s.bytes(std::stoul(r.headers["content-length"]));
  return r;
}

// A gateway that reads the request and gives `answer`.
Result<void> deliver_against(const std::string& answer, Request* seen = nullptr) {
  ScriptedServer server;
  server.serve([&](ScriptedServer& s) {
    auto r = read_request(s);
    if (seen) *seen = r;
    s.say(answer);
  });
  return client(server.port())->deliver(text(), 0);
}

TEST(WebhookClient, PostsTheTextAsJsonWithItsIdAsIdempotencyKey) {
  Request seen;
  auto r = deliver_against("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &seen);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen.line, "POST /hooks/sms?k=1 HTTP/1.1");
  EXPECT_EQ(seen.headers["host"].rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(seen.headers["content-type"], "application/json");
  EXPECT_EQ(seen.headers["idempotency-key"], "msg-7");
  EXPECT_EQ(seen.headers["x-latchkey-message-id"], "msg-7");
  auto body = nlohmann::json::parse(seen.body);
  EXPECT_EQ(body, (nlohmann::json{{"to", "+15551230000"}, {"body", text().body}, {"message_id", "msg-7"}}));
}

TEST(WebhookClient, SuccessIsRetriedNeverAndRefusalsOnlyWhenTheGatewayMeansIt) {
  struct Case {
    int status;
    const char* code;  // nullptr: delivered
  };
  for (auto [status, code] : {Case{200, nullptr}, Case{202, nullptr}, Case{204, nullptr}, Case{400, kDeliveryRejected},
                              Case{404, kDeliveryRejected}, Case{408, kDeliveryFailed}, Case{429, kDeliveryFailed},
                              Case{500, kDeliveryFailed}, Case{503, kDeliveryFailed}}) {
    const std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
    auto r = deliver_against(answer);
    if (!code) {
      EXPECT_TRUE(r.ok()) << status << ": " << r.error().message;
      continue;
    }
    ASSERT_FALSE(r.ok()) << status;
    EXPECT_EQ(r.error().code, code) << status;
    EXPECT_NE(r.error().message.find(std::to_string(status)), std::string::npos) << r.error().message;
  }
}

TEST(WebhookClient, AnErrorNeverHoldsTheGatewaysBody) {
  const std::string echo = "rejected: " + text().body;
  auto r = deliver_against("HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(echo.size()) +
                           "\r\n\r\n" + echo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("portal.example"), std::string::npos) << r.error().message;
}

TEST(WebhookClient, AChunkedAnswerOnAConnectionKeptOpenEndsTheExchange) {
  ScriptedServer server;
  server.serve([](ScriptedServer& s) {
    read_request(s);
    s.say("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nsent\r\n0\r\n\r\n");
    std::this_thread::sleep_for(1500ms);  // and keeps the connection
  });
  const auto started = std::chrono::steady_clock::now();
  auto r = client(server.port(), 5s)->deliver(text(), 0);
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(WebhookClient, AnAnswerLongerThanItNeedsStillCountsByItsStatus) {
  const std::string big(200 * 1024, 'x');
  auto r = deliver_against("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
  EXPECT_TRUE(r.ok()) << r.error().message;
  auto cut = deliver_against("HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nshort");  // then hangs up
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, kDeliveryFailed);
  EXPECT_NE(cut.error().message.find("503"), std::string::npos) << cut.error().message;
}

TEST(WebhookClient, AGatewayThatHangsUpWithoutAnAnswerHasNotTakenTheText) {
  auto r = deliver_against("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
  EXPECT_NE(r.error().message.find("failed at read"), std::string::npos) << r.error().message;
  auto garbage = deliver_against("SMTP? 220 hello\r\n\r\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, kDeliveryFailed);
}

TEST(WebhookClient, AGatewayThatNeverAnswersTimesOut) {
  ScriptedServer server;
  server.serve([](ScriptedServer& s) {
    read_request(s);
    std::this_thread::sleep_for(1s);
  });
  const auto started = std::chrono::steady_clock::now();
  auto r = client(server.port(), 300ms)->deliver(text(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
  EXPECT_NE(r.error().message.find("timed out at read"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
}

TEST(WebhookClient, NothingListeningFailsAtConnect) {
  std::uint16_t port;
  { ScriptedServer closed; port = closed.port(); }
  auto r = client(port)->deliver(text(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace latchkey::notifications
