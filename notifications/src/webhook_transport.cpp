// http(s)://… — SMS through a JSON webhook: POST {"to","body","message_id"}.
//
// One connection per message (texts are few; a gateway may be anywhere).
// The whole exchange has one deadline. 2xx is delivered; 408, 429 and 5xx
// are retried; any other answer is a permanent refusal. Errors hold the
// status only, never the gateway's body (it may echo the text).
//
// The exchange is written once, against a connection that is either plain
// or TLS (Wire), and moves bytes: the request is a few lines of text and the
// answer goes through Beast's parser. Beast's composed http::async_write and
// async_read over a TLS stream made this one file take three minutes to
// compile under the sanitizers; an asynchronous read and write per kind of
// connection is all the exchange needs.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// How much of the gateway's answer is read (its body is never used).
constexpr std::size_t kMaxAnswer = 64 * 1024;

// One connection to the gateway. Every operation runs under the TCP
// stream's deadline (beast::tcp_stream::expires_after).
class Wire {
 public:
  using Done = std::function<void(error_code)>;
  using Read = std::function<void(error_code, std::size_t)>;
  virtual ~Wire() = default;
  virtual beast::tcp_stream& tcp() = 0;
  virtual void handshake(Done done) = 0;  // after connecting; nothing to do without TLS
  virtual void write(asio::const_buffer bytes, Done done) = 0;
  virtual void read_some(asio::mutable_buffer into, Read done) = 0;
};

class PlainWire final : public Wire {
 public:
  explicit PlainWire(asio::io_context& io) : stream_(io) {}
  beast::tcp_stream& tcp() override { return stream_; }
  void handshake(Done done) override { done(error_code{}); }
  void write(asio::const_buffer bytes, Done done) override {
    asio::async_write(stream_, bytes, [done = std::move(done)](error_code ec, std::size_t) { done(ec); });
  }
  void read_some(asio::mutable_buffer into, Read done) override { stream_.async_read_some(into, std::move(done)); }

 private:
  beast::tcp_stream stream_;
};

class TlsWire final : public Wire {
 public:
  TlsWire(asio::io_context& io, ssl::context& tls) : stream_(io, tls) {}
  // The name sent in the handshake and checked in the certificate.
  bool expect(const std::string& host) {
    if (!SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str())) return false;
    stream_.set_verify_callback(ssl::host_name_verification(host));
    return true;
  }
  beast::tcp_stream& tcp() override { return stream_.next_layer(); }
  void handshake(Done done) override { stream_.async_handshake(ssl::stream_base::client, std::move(done)); }
  void write(asio::const_buffer bytes, Done done) override {
    asio::async_write(stream_, bytes, [done = std::move(done)](error_code ec, std::size_t) { done(ec); });
  }
  void read_some(asio::mutable_buffer into, Read done) override {
    stream_.async_read_some(into, [done = std::move(done)](error_code ec, std::size_t n) {
      // A gateway that closes without TLS's close_notify has still answered.
      done(ec == ssl::error::stream_truncated ? error_code(asio::error::eof) : ec, n);
    });
  }

 private:
  ssl::stream<beast::tcp_stream> stream_;
};

class WebhookTransport final : public Transport {
 public:
  WebhookTransport(WebhookOptions options, ParsedUrl url, std::unique_ptr<ssl::context> tls)
      : options_(std::move(options)), url_(std::move(url)), tls_(std::move(tls)) {}

  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros) override {
    io_.restart();
    tcp::resolver resolver(io_);
    tcp::resolver::results_type endpoints;
    std::optional<error_code> resolved;
    resolver.async_resolve(url_.host, std::to_string(url_.port),
                           [&](error_code ec, tcp::resolver::results_type r) {
                             resolved = ec;
                             endpoints = std::move(r);
                           });
    io_.run_for(options_.timeout);
    if (!resolved) {
      resolver.cancel();
      io_.restart();
      io_.run();
      return make_error(kDeliveryFailed, "cannot resolve the SMS webhook's host in time");
    }
    if (*resolved) return make_error(kDeliveryFailed, "cannot resolve the SMS webhook's host");

    std::unique_ptr<Wire> wire;
    if (tls_) {
      auto tls = std::make_unique<TlsWire>(io_, *tls_);
      if (!tls->expect(url_.host)) return make_error(kDeliveryFailed, "cannot set the TLS server name");
      wire = std::move(tls);
    } else {
      wire = std::make_unique<PlainWire>(io_);
    }
    auto status = exchange(*wire, endpoints, request(m));
    if (!status.ok()) return status.error();
    const unsigned code = *status;
    if (code >= 200 && code < 300) return {};
    const std::string what = "the SMS webhook answered " + std::to_string(code);
    if (code == 408 || code == 429 || code >= 500) return make_error(kDeliveryFailed, what);
    return make_error(kDeliveryRejected, what);
  }

 private:
  // The request's bytes. parse_url has refused a target holding spaces or
  // control characters, and message ids are the outbox's own.
  std::string request(const domain::OutboxMessage& m) const {
    const std::string body = nlohmann::json{{"to", m.to}, {"body", m.body}, {"message_id", m.id}}.dump();
    const bool ipv6 = url_.host.find(':') != std::string::npos;
    std::string host = ipv6 ? "[" + url_.host + "]" : url_.host;
    if (url_.port != (tls_ ? 443 : 80)) host += ":" + std::to_string(url_.port);
    std::string out;
    out.reserve(256 + body.size());
    out += "POST " + url_.target + " HTTP/1.1\r\n";
    out += "Host: " + host + "\r\n";
    out += "User-Agent: latchkey\r\n";
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "Idempotency-Key: " + m.id + "\r\n";
    out += "X-Latchkey-Message-Id: " + m.id + "\r\n";
    out += "Connection: close\r\n\r\n";
    out += body;
    return out;
  }

  // Connects, sends the request and reads the answer's status; the deadline
  // of the TCP stream bounds every step.
  Result<unsigned> exchange(Wire& wire, const tcp::resolver::results_type& endpoints, const std::string& request) {
    wire.tcp().expires_after(options_.timeout);
    std::optional<error_code> failed;
    const char* step = "connect";
    http::response_parser<http::string_body> answer;
    answer.body_limit(kMaxAnswer);
    answer.eager(true);
    beast::flat_buffer buffer;  // bounded by the parser's header and body limits
    auto fail = [&](const char* at, error_code ec) {
      step = at;
      failed = ec;
    };
    std::function<void()> read = [&] {
      wire.read_some(buffer.prepare(4096), [&](error_code ec, std::size_t n) {
        buffer.commit(n);
        error_code parse;
        if (ec == asio::error::eof) {
          if (!answer.got_some()) return fail("read", ec);  // hung up without a word
          answer.put_eof(parse);
        } else if (ec) {
          return fail("read", ec);
        } else {
          buffer.consume(answer.put(buffer.data(), parse));
          if (parse == http::error::need_more) parse = {};
        }
        // The status is all that matters: a body too long or cut short after it changes nothing.
        if (answer.is_done() || (answer.is_header_done() && (parse || ec))) return fail("read", error_code{});
        if (parse || ec) return fail("read", parse ? parse : ec);
        read();
      });
    };
    wire.tcp().async_connect(endpoints, [&](error_code ec, const tcp::endpoint&) {
      if (ec) return fail("connect", ec);
      wire.handshake([&](error_code hec) {
        if (hec) return fail("TLS handshake", hec);
        wire.write(asio::buffer(request), [&](error_code wec) {
          if (wec) return fail("write", wec);
          read();
        });
      });
    });
    io_.restart();
    io_.run();  // the stream's deadline bounds every step
    if (!failed) return make_error(kDeliveryFailed, "the SMS webhook exchange did not finish");
    if (*failed) {
      const bool timed_out = *failed == beast::error::timeout;
      return make_error(kDeliveryFailed, std::string("the SMS webhook ") +
                                             (timed_out ? "timed out at " : "failed at ") + step);
    }
    error_code ignored;
    wire.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    return answer.get().result_int();
  }

  WebhookOptions options_;
  ParsedUrl url_;
  std::unique_ptr<ssl::context> tls_;
  asio::io_context io_;
};

}  // namespace

Result<std::unique_ptr<Transport>> open_webhook_transport(WebhookOptions options) {
  auto url = parse_url(options.url);
  if (!url.ok()) return url.error();
  if (url->scheme != "http" && url->scheme != "https") {
    return make_error("cannot_open_transport", "an SMS webhook URL starts with http:// or https://");
  }
  std::unique_ptr<ssl::context> tls;
  if (url->scheme == "https") {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    error_code ec;
    if (options.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.ca_file, ec);
    }
    if (ec) return make_error("cannot_open_transport", "cannot load the trusted certificates for the SMS webhook");
    tls->set_verify_mode(ssl::verify_peer);
  }
  auto parsed = *url;
  return std::unique_ptr<Transport>(
      std::make_unique<WebhookTransport>(std::move(options), std::move(parsed), std::move(tls)));
}

}  // namespace latchkey::notifications
