// The HTTP server: an asynchronous Boost.Beast server behind a plain interface,
// so that no Beast or Asio header reaches the rest of the code base.
//
// A fixed pool of I/O threads, each with its own io_context; a connection
// lives on one of them from accept to close, so it needs no strand. Requests
// are limited (header 8 KiB, body 64 KiB) and every read has a deadline, so a
// slow client cannot hold a connection forever. stop() closes the listener,
// lets in-flight requests finish, then ends every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/result.hpp"

namespace latchkey::http {

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string source_ip;

  // The first header with this (lower-case) name, or "".
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// An RFC 9457 application/problem+json response with a stable `code`.
Response problem(int status, std::string_view code, std::string_view title);

// Runs on an I/O thread; must not block (post slow work elsewhere).
// Answers on the I/O thread that read the request: only for work that never
// blocks (health checks, metrics, cached reads).
using Handler = std::function<Response(const Request&)>;

// Delivers the answer to a request. Call it exactly once, from any thread; a
// second call is ignored. Thread-safe.
using Respond = std::function<void(Response)>;
// Receives each request and answers it through `respond`, now or later and
// from any thread: slow work (Argon2id, a durable append) goes to a worker
// pool and the I/O thread goes on serving other connections meanwhile. If the
// handler throws before answering, the client gets a 500.
using AsyncHandler = std::function<void(Request, Respond)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int io_threads = 2;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  // Deadline for each whole request (headers and body), and for the idle gap
  // before the next request on a keep-alive connection.
  std::chrono::seconds read_timeout{15};
  // How long a shutdown waits for the answers of requests in flight.
  std::chrono::milliseconds drain_timeout{10000};
};

class Server {
 public:
  // Binds the listening socket at once (so a bad address fails here).
  static Result<std::unique_ptr<Server>> bind(ServerOptions options, AsyncHandler handler);
  // The same with a handler that answers at once on the I/O thread.
  static Result<std::unique_ptr<Server>> bind(ServerOptions options, Handler handler);
  virtual ~Server() = default;

  virtual std::uint16_t port() const = 0;
  // Serves until stop() or SIGTERM/SIGINT; returns after a graceful shutdown.
  virtual void run() = 0;
  // Thread-safe; may be called from a handler or a signal.
  virtual void stop() = 0;
};

}  // namespace latchkey::http
