// The SMTP client against scripted servers on 127.0.0.1: the exact dialogue,
// multi-line replies, refusals and deadlines.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "latchkey/notifications/transports.hpp"
#include "scripted_server.hpp"

namespace latchkey::notifications {
namespace {

using namespace std::chrono_literals;

domain::OutboxMessage message() {
  domain::OutboxMessage m;
  m.id = "m-1";
  m.sender_name = "Sunny Days";
  m.to = "ana@example.com";
  m.subject = "Reset";
  m.body = "Hi\n.dot line\n";
  return m;
}

std::unique_ptr<Transport> client(std::uint16_t port, std::chrono::milliseconds timeout = 2s) {
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.sender = {"no-reply@sunny.example", "sunny.example"};
  o.timeout = timeout;
  auto t = open_smtp_transport(o);
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

TEST(SmtpClient, SpeaksTheWholeDialogue) {
  ScriptedServer server;
  std::string data;
  server.serve([&](ScriptedServer& s) {
    s.say("220-mx.example ESMTP\r\n220 ready\r\n");
    s.seen.push_back(s.line());
    s.say("250-mx.example\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n");
    s.seen.push_back(s.line());
    s.say("250 ok\r\n");
    s.seen.push_back(s.line());
    s.say("250 ok\r\n");
    s.seen.push_back(s.line());
    s.say("354 go ahead\r\n");
    data = s.data();
    s.say("250 queued\r\n");
    s.seen.push_back(s.line());  // QUIT when the client goes away
    s.say("221 bye\r\n");
  });
  {
    auto t = client(server.port());
    auto r = t->deliver(message(), 0);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  ASSERT_EQ(server.seen.size(), 5u);
  EXPECT_EQ(server.seen[0], "EHLO localhost");
  EXPECT_EQ(server.seen[1], "MAIL FROM:<no-reply@sunny.example>");
  EXPECT_EQ(server.seen[2], "RCPT TO:<ana@example.com>");
  EXPECT_EQ(server.seen[3], "DATA");
  EXPECT_EQ(server.seen[4], "QUIT");
  EXPECT_NE(data.find("\r\n\r\nHi\r\n..dot line\r\n.\r\n"), std::string::npos) << data;
}

TEST(SmtpClient, AnUnknownMailboxIsAPermanentRefusal) {
  ScriptedServer server;
  server.serve([](ScriptedServer& s) {
    s.say("220 ready\r\n");
    s.line();
    s.say("250 hi\r\n");
    s.line();
    s.say("250 ok\r\n");
    s.line();
    s.say("550 5.1.1 <ana@example.com>: no such user\r\n");
    s.line();
  });
  auto r = client(server.port())->deliver(message(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryRejected);
  EXPECT_EQ(r.error().message.find("ana@example.com"), std::string::npos) << "the reply text is not repeated";
}

TEST(SmtpClient, ABusyServerIsATemporaryFailure) {
  ScriptedServer server;
  server.serve([](ScriptedServer& s) { s.say("421 too busy\r\n"); });
  auto r = client(server.port())->deliver(message(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
}

TEST(SmtpClient, ASilentServerTimesOut) {
  ScriptedServer server;  // accepts (in the kernel) and never says a word
  auto started = std::chrono::steady_clock::now();
  auto r = client(server.port(), 300ms)->deliver(message(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(SmtpClient, NothingListeningIsATemporaryFailure) {
  std::uint16_t port;
  {
    ScriptedServer gone;
    port = gone.port();
  }
  auto r = client(port)->deliver(message(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryFailed);
}

TEST(SmtpClient, AnUnsafeRecipientIsNeverPutOnTheWire) {
  auto m = message();
  m.to = "ana@example.com>\r\nRCPT TO:<evil@example.com";
  auto r = client(1)->deliver(m, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kDeliveryRejected);
}

}  // namespace
}  // namespace latchkey::notifications
