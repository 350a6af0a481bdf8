// smtp://host:port — a plain SMTP client (RFC 5321) on Boost.Asio.
//
// One connection is kept open between messages and re-opened when the
// server has closed it. Every step has a deadline. A 5xx answer to MAIL,
// RCPT or DATA is a permanent refusal (the dispatcher gives the message up);
// anything else that fails is temporary and retried. Errors name the SMTP
// step and reply code only: a server's reply text may echo the recipient.
// STARTTLS and AUTH are not supported (docs/DECISIONS.md): relay through a
// local MTA that adds them.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <optional>

#include "latchkey/notifications/mime.hpp"
#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kMaxReply = 64 * 1024;

struct Reply {
  int code = 0;
};

class SmtpTransport final : public Transport {
 public:
  explicit SmtpTransport(SmtpOptions options) : options_(std::move(options)) {}
  ~SmtpTransport() override {
    if (socket_.is_open()) {
      (void)command("QUIT");
      close();
    }
  }

  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros now_us) override {
    if (!is_safe_address(m.to)) return make_error(kDeliveryRejected, "the recipient address cannot be sent to");
    const std::string data = dot_stuff(compose_email(m, options_.sender, now_us));
    const bool reused = socket_.is_open();
    auto r = transaction(m.to, data);
    if (!r.ok() && reused && lost_connection_) {
      // The server closed the idle connection: once more on a fresh one.
      r = transaction(m.to, data);
    }
    if (!r.ok()) close();
    return r;
  }

 private:
  Result<void> transaction(const std::string& to, const std::string& data) {
    lost_connection_ = false;
    if (!socket_.is_open()) {
      if (auto c = connect(); !c.ok()) return c;
    }
    if (auto r = expect("MAIL FROM:<" + options_.sender.address + ">", "MAIL", 250); !r.ok()) return r;
    if (auto r = expect("RCPT TO:<" + to + ">", "RCPT", 250, 251); !r.ok()) return r;
    if (auto r = expect("DATA", "DATA", 354); !r.ok()) return r;
    auto written = run([&](auto done) { asio::async_write(socket_, asio::buffer(data), done); });
    if (!written.ok()) return written.error();
    auto reply = read_reply();
    if (!reply.ok()) return reply.error();
    return check("message", reply->code, 250);
  }

  Result<void> connect() {
    tcp::resolver resolver(io_);
    tcp::resolver::results_type endpoints;
    auto resolved = run([&](auto done) {
      resolver.async_resolve(options_.host, std::to_string(options_.port),
                             [&endpoints, done](error_code ec, tcp::resolver::results_type r) mutable {
                               endpoints = std::move(r);
                               done(ec, 0);
                             });
    });
    if (!resolved.ok()) return make_error(kDeliveryFailed, "cannot resolve the SMTP server");
    auto connected = run([&](auto done) {
      asio::async_connect(socket_, endpoints, [done](error_code ec, const tcp::endpoint&) mutable { done(ec, 0); });
    });
    if (!connected.ok()) return make_error(kDeliveryFailed, "cannot connect to the SMTP server");
    auto greeting = read_reply();
    if (!greeting.ok()) return greeting.error();
    if (greeting->code != 220) return temporary("greeting", greeting->code);
    auto ehlo = command("EHLO " + options_.helo_name);
    if (!ehlo.ok()) return ehlo.error();
    if (ehlo->code != 250) {
      auto helo = command("HELO " + options_.helo_name);
      if (!helo.ok()) return helo.error();
      if (helo->code != 250) return temporary("HELO", helo->code);
    }
    return {};
  }

  Result<void> expect(const std::string& line, const char* step, int ok, int also_ok = 0) {
    auto reply = command(line);
    if (!reply.ok()) return reply.error();
    if (reply->code == ok || (also_ok != 0 && reply->code == also_ok)) return {};
    return check(step, reply->code, ok);
  }

  static Result<void> check(const char* step, int code, int ok) {
    if (code == ok) return {};
    if (code >= 500 && code < 600) {
      return make_error(kDeliveryRejected, std::string("the SMTP server refused ") + step + " with " +
                                               std::to_string(code));
    }
    return temporary(step, code);
  }

  static Error temporary(const char* step, int code) {
    return make_error(kDeliveryFailed, std::string("the SMTP server answered ") + step + " with " +
                                           (code == 0 ? std::string("nothing usable") : std::to_string(code)));
  }

  Result<Reply> command(const std::string& line) {
    const std::string wire = line + "\r\n";
    auto written = run([&](auto done) { asio::async_write(socket_, asio::buffer(wire), done); });
    if (!written.ok()) return written.error();
    return read_reply();
  }

  // A reply is one or more lines "250-…" ending with "250 …".
  Result<Reply> read_reply() {
    for (;;) {
      auto n = run([&](auto done) {
        asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, kMaxReply), "\r\n", done);
      });
      if (!n.ok()) return n.error();
      std::string line = buffer_.substr(0, *n - 2);
      buffer_.erase(0, *n);
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2]))) {
        return make_error(kDeliveryFailed, "the SMTP server sent a malformed reply");
      }
      if (line.size() > 3 && line[3] == '-') continue;
      return Reply{std::stoi(line.substr(0, 3))};
    }
  }

  // Runs one asynchronous operation to completion or its deadline.
  template <class Start>
  Result<std::size_t> run(Start start) {
    std::optional<error_code> result;
    std::size_t transferred = 0;
    start([&result, &transferred](error_code ec, std::size_t n) {
      result = ec;
      transferred = n;
    });
    io_.restart();
    io_.run_for(options_.timeout);
    if (!result) {
      close();  // cancels the operation; its handler runs below
      io_.restart();
      io_.run();
      lost_connection_ = true;
      return make_error(kDeliveryFailed, "the SMTP server did not answer in time");
    }
    if (*result) {
      lost_connection_ = true;
      return make_error(kDeliveryFailed, "the connection to the SMTP server failed");
    }
    return transferred;
  }

  void close() {
    error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
  }

  SmtpOptions options_;
  asio::io_context io_;
  tcp::socket socket_{io_};
  std::string buffer_;
  bool lost_connection_ = false;
};

}  // namespace

Result<std::unique_ptr<Transport>> open_smtp_transport(SmtpOptions options) {
  if (options.host.empty() || options.port == 0) {
    return make_error("cannot_open_transport", "an SMTP transport needs a host and a port");
  }
  if (!is_safe_address(options.sender.address) || options.sender.address.find('@') == std::string::npos) {
    return make_error("cannot_open_transport", "the sender address must be a plain address like no-reply@example.org");
  }
  return std::unique_ptr<Transport>(std::make_unique<SmtpTransport>(std::move(options)));
}

}  // namespace latchkey::notifications
