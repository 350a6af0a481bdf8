// Boost.Beast implementation of latchkey::http::Server, after Beast's advanced
// server example: a listener accepting onto per-connection strands, one
// session object per connection kept alive by shared_from_this, N threads on
// one io_context, a signal_set for SIGTERM/SIGINT.
#include "latchkey/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <optional>
#include <thread>

namespace latchkey::http {

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

Response problem(int status, std::string_view code, std::string_view title) {
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = std::string(R"({"type":"about:blank","status":)") + std::to_string(status) +
           R"(,"code":")" + std::string(code) + R"(","title":")" + std::string(title) + "\"}";
  return r;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct Shared {
  AsyncHandler handler;
  ServerOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};  // requests read and not yet fully answered
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    // Once per connection, not per request (a getpeername each time).
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    if (!ignored) source_ip_ = endpoint.address().to_string();
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    if (shared_->stopping.load()) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    // One deadline for the whole request: a client that trickles bytes (or
    // idles between keep-alive requests) is cut off when it passes.
    stream_.expires_after(shared_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return refuse(problem(413, "payload_too_large", "The request body is over 64 KiB."));
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(problem(431, "headers_too_large", "The request headers are too large."));
    }
    if (ec) {
      return refuse(problem(400, "malformed_request", "The request is not valid HTTP/1.1."));
    }

    shared_->in_flight.fetch_add(1);
    auto& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.headers.reserve(8);
    for (const auto& field : message) {
      request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.source_ip = source_ip_;

    // The answer may come from another thread: it is written on this
    // connection's executor, once.
    const bool keep_alive = message.keep_alive();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Respond respond = [self = shared_from_this(), keep_alive, answered](Response response) {
      if (answered->exchange(true)) return;
      asio::dispatch(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->write(std::move(response), keep_alive && !self->shared_->stopping.load(), true);
      });
    };
    try {
      shared_->handler(std::move(request), respond);
    } catch (const std::exception&) {
      respond(problem(500, "internal_error", "The server failed to answer."));
    }
  }

  void refuse(Response response) { write(std::move(response), false, false); }

  void write(Response response, bool keep_alive, bool counted) {
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), 11);
    out->set(bhttp::field::server, "latchkey");
    out->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) out->set(name, value);
    out->body() = std::move(response.body);
    out->keep_alive(keep_alive);
    out->prepare_payload();
    stream_.expires_after(shared_->options.read_timeout);
    bhttp::async_write(stream_, *out,
                       [self = shared_from_this(), out, keep_alive, counted](beast::error_code ec,
                                                                            std::size_t) {
                         if (counted) self->shared_->in_flight.fetch_sub(1);
                         if (ec || !keep_alive) return self->close();
                         self->read();
                       });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  std::string source_ip_;
};

class BeastServer final : public Server {
 public:
  BeastServer(ServerOptions options, AsyncHandler handler)
      : ioc_(options.io_threads),
        acceptor_(asio::make_strand(ioc_)),
        signals_(ioc_, SIGINT, SIGTERM),
        drain_timer_(ioc_),
        shared_(std::make_shared<Shared>()) {
    shared_->handler = std::move(handler);
    shared_->options = std::move(options);
  }

  Result<void> listen() {
    const std::string& listen = shared_->options.listen;
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return make_error("bad_listen_address", "--listen must be HOST:PORT, got " + listen);
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return make_error("bad_listen_address", "not an IP address: " + host);
    int port = 0;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
    if (port < 0 || port > 65535) return make_error("bad_listen_address", "bad port in " + listen);
    tcp::endpoint endpoint(address, static_cast<std::uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("cannot_listen", "cannot listen on " + listen + ": " + ec.message());
    return {};
  }

  std::uint16_t port() const override { return acceptor_.local_endpoint().port(); }

  void run() override {
    accept();
    signals_.async_wait([this](beast::error_code ec, int) {
      if (!ec) stop();
    });
    std::vector<std::thread> threads;
    for (int i = 1; i < shared_->options.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
  }

  void stop() override {
    asio::post(acceptor_.get_executor(), [this] {
      if (shared_->stopping.exchange(true)) return;
      beast::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
      drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      drain();
    });
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (shared_->stopping.load()) return;
      if (!ec) std::make_shared<Session>(std::move(s), shared_)->start();
      accept();
    });
  }

  // Waits for in-flight requests to be answered (at most 10 s), then ends
  // every connection by stopping the io_context.
  void drain() {
    if (shared_->in_flight.load() == 0 || std::chrono::steady_clock::now() > drain_deadline_) {
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(5));
    drain_timer_.async_wait([this](beast::error_code) { drain(); });
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::bind(ServerOptions options, Handler handler) {
  return bind(std::move(options), AsyncHandler([handler = std::move(handler)](Request request, Respond respond) {
                respond(handler(request));
              }));
}

Result<std::unique_ptr<Server>> Server::bind(ServerOptions options, AsyncHandler handler) {
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler));
  if (auto r = server->listen(); !r.ok()) return r.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace latchkey::http
