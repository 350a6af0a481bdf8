// http(s)://… — SMS through a JSON webhook: POST {"to","body","message_id"}.
//
// One connection per message (texts are few; a gateway may be anywhere).
// The whole exchange has one deadline. 2xx is delivered; 408, 429 and 5xx
// are retried; any other answer is a permanent refusal. Errors hold the
// status only, never the gateway's body (it may echo the text).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

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

class WebhookTransport final : public Transport {
 public:
  WebhookTransport(WebhookOptions options, ParsedUrl url, std::unique_ptr<ssl::context> tls)
      : options_(std::move(options)), url_(std::move(url)), tls_(std::move(tls)) {}

  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros) override {
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    const bool default_port = url_.port == (tls_ ? 443 : 80);
    req.set(http::field::host, default_port ? url_.host : url_.host + ":" + std::to_string(url_.port));
    req.set(http::field::user_agent, "latchkey");
    req.set(http::field::content_type, "application/json");
    req.set("Idempotency-Key", m.id);
    req.set("X-Latchkey-Message-Id", m.id);
    req.body() = nlohmann::json{{"to", m.to}, {"body", m.body}, {"message_id", m.id}}.dump();
    req.prepare_payload();

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

    Result<unsigned> status = make_error(kDeliveryFailed, "no answer");
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(io_, *tls_);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
        return make_error(kDeliveryFailed, "cannot set the TLS server name");
      }
      stream.set_verify_callback(ssl::host_name_verification(url_.host));
      status = exchange(stream, endpoints, req);
    } else {
      beast::tcp_stream stream(io_);
      status = exchange(stream, endpoints, req);
    }
    if (!status.ok()) return status.error();
    const unsigned code = *status;
    if (code >= 200 && code < 300) return {};
    const std::string what = "the SMS webhook answered " + std::to_string(code);
    if (code == 408 || code == 429 || code >= 500) return make_error(kDeliveryFailed, what);
    return make_error(kDeliveryRejected, what);
  }

 private:
  template <class Stream>
  Result<unsigned> exchange(Stream& stream, const tcp::resolver::results_type& endpoints,
                            http::request<http::string_body>& req) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(options_.timeout);
    std::optional<error_code> failed;
    const char* step = "connect";
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    auto fail = [&](const char* at, error_code ec) {
      step = at;
      failed = ec;
    };
    auto read_response = [&] {
      http::async_read(stream, buffer, res, [&](error_code ec, std::size_t) {
        if (ec) return fail("read", ec);
        failed = error_code{};
      });
    };
    auto write_request = [&] {
      http::async_write(stream, req, [&](error_code ec, std::size_t) {
        if (ec) return fail("write", ec);
        read_response();
      });
    };
    tcp_layer.async_connect(endpoints, [&](error_code ec, const tcp::endpoint&) {
      if (ec) return fail("connect", ec);
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        write_request();
      } else {
        stream.async_handshake(ssl::stream_base::client, [&](error_code hec) {
          if (hec) return fail("TLS handshake", hec);
          write_request();
        });
      }
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
    tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return res.result_int();
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
