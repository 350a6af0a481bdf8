// Boost.Beast implementation of latchkey::http::Server.
//
// One io_context per I/O thread, each run by its thread alone: a connection
// lives on one thread from accept to close, so its handlers need no strand and
// no thread hands work to another (a single shared io_context made the two
// threads wake each other for every request). Beast parses requests; answers
// are serialized by hand into one buffer per connection and written with one
// send. Deadlines are a time stamp per connection, checked by one sweep timer
// per thread, instead of a timer armed and cancelled around every read and
// write.
#include "latchkey/http/server.hpp"

#include <pthread.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <charconv>
#include <list>
#include <mutex>
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
using Clock = std::chrono::steady_clock;

constexpr auto kSweepEvery = std::chrono::milliseconds(250);
// After a refusal (413, 431, 400) the client may still be sending the request
// it was refused for. Closing with those bytes unread would answer them with
// a TCP reset, and a reset can destroy the refusal before the client reads
// it. So the server stops sending, then reads and discards for a while.
constexpr auto kLingerFor = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;

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
  // An answer may arrive from a worker thread after the server (and the
  // io_contexts its sockets belong to) is gone: it is then dropped. Held
  // while an answer is handed to a connection's context.
  std::mutex alive_mu;
  bool gone = false;
};

class Session;
struct Worker;

// The worker whose io_context this thread is running, if any: a connection
// answered on its own thread can write at once, without touching the
// context (which a late answer from another thread must never do).
thread_local const Worker* t_worker = nullptr;

// One I/O thread's share of the server: its io_context, the connections it
// serves, and the timer that ends those past their deadline.
struct Worker {
  Worker() : ioc(1), sweeper(ioc), busy(ioc.get_executor()) {}
  asio::io_context ioc;
  asio::steady_timer sweeper;
  // Keeps run() going while a connection has no operation pending (its
  // request is with a worker thread), through the drain: only stop() ends it.
  asio::executor_work_guard<asio::io_context::executor_type> busy;
  std::list<std::weak_ptr<Session>> sessions;  // touched only on this worker's thread
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Worker& worker, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), worker_(&worker), shared_(std::move(shared)) {
    beast::error_code ignored;
    socket_->set_option(tcp::no_delay(true), ignored);
    // Once per connection, not per request (a getpeername each time).
    auto endpoint = socket_->remote_endpoint(ignored);
    if (!ignored) source_ip_ = endpoint.address().to_string();
  }

  // On the worker's thread.
  void start(Worker& worker) {
    worker.sessions.push_back(weak_from_this());
    read();
  }

  // Called by the sweep on this connection's thread.
  bool expired(Clock::time_point now) const { return now > deadline_; }
  void close() {
    deadline_ = Clock::time_point::max();
    beast::error_code ec;
    socket_->shutdown(tcp::socket::shutdown_send, ec);
    socket_->close(ec);
  }
  // When the server goes: a closed socket no longer needs its io_context,
  // so a session kept alive by a late answer can be destroyed safely.
  void release() {
    beast::error_code ec;
    socket_->close(ec);
    socket_.reset();
  }

 private:
  void read() {
    if (shared_->stopping.load(std::memory_order_relaxed)) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    // One deadline for the whole request: a client that trickles bytes (or
    // idles between keep-alive requests) is cut off when it passes.
    deadline_ = Clock::now() + shared_->options.read_timeout;
    bhttp::async_read(*socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || !socket_->is_open()) {
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

    // No deadline while the handler works: the answer may wait for a hash.
    deadline_ = Clock::time_point::max();
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
    // connection's thread, once (a second call for the same request is
    // ignored).
    const bool keep_alive = message.keep_alive();
    const std::uint64_t seq = ++requests_;
    const bool head = message.method() == bhttp::verb::head;
    Respond respond = [self = shared_from_this(), keep_alive, head, seq](Response response) {
      std::uint64_t expected = seq - 1;
      if (!self->answered_.compare_exchange_strong(expected, seq)) return;
      auto answer = [self, keep_alive, head, response = std::move(response)] {
        self->write(response, keep_alive && !self->shared_->stopping.load(), head, false);
      };
      // Answered at once, on the connection's own thread: the server is
      // running, so there is nothing to guard.
      if (t_worker == self->worker_) return answer();
      std::lock_guard alive(self->shared_->alive_mu);
      if (self->shared_->gone) return;
      asio::post(self->worker_->ioc, std::move(answer));
    };
    try {
      shared_->handler(std::move(request), respond);
    } catch (const std::exception&) {
      respond(problem(500, "internal_error", "The server failed to answer."));
    }
  }

  void refuse(const Response& response) { write(response, false, false, true); }

  void linger() {
    beast::error_code ec;
    socket_->shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    deadline_ = Clock::now() + kLingerFor;  // the sweep ends it then, at the latest
    discard();
  }
  void discard() {
    buffer_.clear();
    socket_->async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec,
                                                                                    std::size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > kLingerBytes) return self->close();
      self->discard();
    });
  }

  // An answer to a request that was read (and counted in flight), or a
  // refusal of one that could not be read (which then closes lingering).
  void write(const Response& response, bool keep_alive, bool head, bool refusal) {
    serialize(response, keep_alive, head);
    deadline_ = Clock::now() + shared_->options.read_timeout;  // a client that does not read is cut off too
    asio::async_write(*socket_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive, refusal](beast::error_code ec, std::size_t) {
                        if (!refusal) self->shared_->in_flight.fetch_sub(1);
                        if (!ec && refusal) return self->linger();
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  // HTTP/1.1 status line, headers and body, into the connection's buffer
  // (kept between requests, so a keep-alive connection stops allocating).
  // The answer to HEAD says how long the body is and leaves it out; 204 and
  // 304 have no body at all (RFC 9110 §6.4.1): a body there would be read by
  // the client as the start of the next response.
  void serialize(const Response& r, bool keep_alive, bool head) {
    out_.clear();
    out_ += "HTTP/1.1 ";
    char number[24];
    auto status = r.status >= 200 && r.status <= 999 ? r.status : 500;
    const bool bodiless = status == 204 || status == 304;
    out_.append(number, std::to_chars(number, number + sizeof number, status).ptr);
    out_ += ' ';
    out_ += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    out_ += "\r\nServer: latchkey";
    if (!bodiless) {
      if (field_value_ok(r.content_type)) {
        out_ += "\r\nContent-Type: ";
        out_ += r.content_type;
      }
      out_ += "\r\nContent-Length: ";
      out_.append(number, std::to_chars(number, number + sizeof number, r.body.size()).ptr);
    }
    for (const auto& [name, value] : r.headers) {
      // Header values come from the server itself, never from a request
      // verbatim; still, nothing may split a header or restate the framing.
      if (!field_name_ok(name) || !field_value_ok(value) || framing_field(name)) continue;
      out_ += "\r\n";
      out_ += name;
      out_ += ": ";
      out_ += value;
    }
    if (!keep_alive) out_ += "\r\nConnection: close";
    out_ += "\r\n\r\n";
    if (!head && !bodiless) out_ += r.body;
  }

  // RFC 9110 §5.1: a name is a token.
  static bool field_name_ok(std::string_view name) {
    if (name.empty()) return false;
    for (unsigned char c : name) {
      if (c <= 0x20 || c >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(c)) != std::string_view::npos) {
        return false;
      }
    }
    return true;
  }
  // Visible characters, spaces and tabs; no line breaks or other controls.
  static bool field_value_ok(std::string_view value) {
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
  }
  static bool framing_field(std::string_view name) {
    return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
           beast::iequals(name, "connection") || beast::iequals(name, "content-type");
  }

  std::optional<tcp::socket> socket_;  // empty once the server is gone (release)
  // The worker (and io_context) the connection lives on. Another thread
  // compares it with t_worker, and uses it only under alive_mu while the
  // server is not gone.
  Worker* worker_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string out_;
  std::shared_ptr<Shared> shared_;
  std::string source_ip_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::uint64_t requests_ = 0;             // on this connection's thread
  std::size_t discarded_ = 0;              // bytes read and dropped after a refusal
  std::atomic<std::uint64_t> answered_{0};  // the last request answered
};

class BeastServer final : public Server {
 public:
  BeastServer(ServerOptions options, AsyncHandler handler)
      : shared_(std::make_shared<Shared>()) {
    const int threads = std::max(1, options.io_threads);
    for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
    acceptor_.emplace(workers_[0]->ioc);
    signals_.emplace(workers_[0]->ioc, SIGINT, SIGTERM);
    drain_timer_.emplace(workers_[0]->ioc);
    accept_backoff_.emplace(workers_[0]->ioc);
    shared_->handler = std::move(handler);
    shared_->options = std::move(options);
  }

  ~BeastServer() override {
    // From here on a late answer (a worker finishing after the drain) is
    // dropped, and every socket is closed while its context still exists, so
    // a session that a pending answer keeps alive never touches a freed one.
    {
      std::lock_guard alive(shared_->alive_mu);
      shared_->gone = true;
    }
    acceptor_.reset();
    signals_.reset();
    drain_timer_.reset();
    accept_backoff_.reset();
    for (auto& w : workers_) {
      for (auto& weak : w->sessions) {
        if (auto session = weak.lock()) session->release();
      }
      w->sessions.clear();
    }
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
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error("cannot_listen", "cannot listen on " + listen + ": " + ec.message());
    return {};
  }

  std::uint16_t port() const override { return acceptor_->local_endpoint().port(); }

  void run() override {
    accept();
    signals_->async_wait([this](beast::error_code ec, int) {
      if (!ec) stop();
    });
    for (auto& w : workers_) sweep(*w);
    std::vector<std::thread> threads;
    auto serve = [this](std::size_t i) {
      t_worker = workers_[i].get();
      workers_[i]->ioc.run();
      t_worker = nullptr;
    };
    for (std::size_t i = 1; i < workers_.size(); ++i) {
      threads.emplace_back([serve, i] {
        pthread_setname_np(pthread_self(), "lk-io");  // as top -H and perf show it
        serve(i);
      });
    }
    serve(0);
    for (auto& t : threads) t.join();
  }

  void stop() override {
    asio::post(workers_[0]->ioc, [this] {
      if (shared_->stopping.exchange(true)) return;
      beast::error_code ec;
      acceptor_->close(ec);
      signals_->cancel(ec);
      drain_deadline_ = Clock::now() + shared_->options.drain_timeout;
      drain();
    });
  }

 private:
  // New connections go to the workers in turn.
  void accept() {
    Worker& next = *workers_[next_worker_++ % workers_.size()];
    acceptor_->async_accept(next.ioc, [this, &next](beast::error_code ec, tcp::socket s) {
      if (shared_->stopping.load()) return;
      if (!ec) {
        auto session = std::make_shared<Session>(std::move(s), next, shared_);
        asio::post(next.ioc, [session, &next] { session->start(next); });
        return accept();
      }
      // Out of descriptors (or another failure that would repeat at once):
      // wait a little instead of spinning the thread that also serves
      // connections.
      accept_backoff_->expires_after(std::chrono::milliseconds(50));
      accept_backoff_->async_wait([this](beast::error_code e) {
        if (!e && !shared_->stopping.load()) accept();
      });
    });
  }

  // Ends this worker's connections whose deadline has passed, and forgets
  // the ones that are gone.
  void sweep(Worker& w) {
    w.sweeper.expires_after(kSweepEvery);
    w.sweeper.async_wait([this, &w](beast::error_code ec) {
      if (ec) return;
      const auto now = Clock::now();
      for (auto it = w.sessions.begin(); it != w.sessions.end();) {
        if (auto session = it->lock()) {
          if (session->expired(now)) session->close();
          ++it;
        } else {
          it = w.sessions.erase(it);
        }
      }
      if (!shared_->stopping.load()) sweep(w);
    });
  }

  // Waits for in-flight requests to be answered (at most drain_timeout), then ends
  // every connection by stopping the workers.
  void drain() {
    if (shared_->in_flight.load() == 0 || Clock::now() > drain_deadline_) {
      for (auto& w : workers_) w->ioc.stop();
      return;
    }
    drain_timer_->expires_after(std::chrono::milliseconds(5));
    drain_timer_->async_wait([this](beast::error_code) { drain(); });
  }

  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::signal_set> signals_;
  std::optional<asio::steady_timer> drain_timer_;
  std::optional<asio::steady_timer> accept_backoff_;
  Clock::time_point drain_deadline_;
  std::size_t next_worker_ = 0;
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
