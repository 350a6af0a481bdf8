// libFuzzer: raw bytes into the server's request handling. The real Beast
// server with the real API listens on 127.0.0.1; each input is written to a
// fresh connection as it is (request line, headers, body, garbage), the
// writing side is closed, and whatever comes back is read until the server
// closes. The server must survive every input and keep answering.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "latchkey/http/server.hpp"
#include "tenant_setup.hpp"

namespace {

latchkey::fuzz::AppHarness* app = nullptr;
std::uint16_t port = 0;

// Each input is one short connection that this side closes first, so its
// port sits in TIME_WAIT for a minute: at thousands of inputs a second one
// source address runs out of ports. The connections therefore come from the
// whole of 127.0.0.0/8 in turn, and a connect that still fails is retried for
// a while (and named) before the run is declared broken.
int connect_to_server() {
  static std::uint32_t next_source = 0;
  for (int attempt = 0;; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000000u | (2 + next_source++ % 250) << 8 | 1);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0 &&
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      timeval timeout{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      return fd;
    }
    const int error = errno;
    ::close(fd);
    if (attempt == 100) {
      std::fprintf(stderr, "fuzz_http: cannot connect to the server: %s\n", std::strerror(error));
      __builtin_trap();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The status line of one GET /healthz on a fresh connection, read until it
// is whole or the server closes; what went wrong otherwise.
std::string health_status(std::string& failure) {
  int fd = connect_to_server();
  const char request[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)::send(fd, request, sizeof request - 1, MSG_NOSIGNAL);
  std::string got;
  char buffer[512];
  while (got.size() < 12) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      failure = "got " + std::to_string(got.size()) + " bytes, then " +
                (n == 0 ? std::string("the server closed") : std::string(std::strerror(errno)));
      break;
    }
    got.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got.substr(0, 12);
}

// The server answers a well-formed request. A probe that fails is tried
// again (a machine busy with other tests can stall a connection past the
// 5 s receive timeout) and said on stderr; three failures in a row mean the
// server is gone or wedged, and end the run.
void probe_health() {
  std::string failure;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const std::string status = health_status(failure);
    if (status == "HTTP/1.1 200") {
      if (attempt > 1) {
        std::fprintf(stderr, "fuzz_http: health probe answered on attempt %d\n", attempt);
      }
      return;
    }
    if (failure.empty()) failure = "status line \"" + status + "\"";
    std::fprintf(stderr, "fuzz_http: health probe %d failed: %s\n", attempt, failure.c_str());
    failure.clear();
  }
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  app = new latchkey::fuzz::AppHarness();
  new latchkey::fuzz::FuzzTenant(*app);
  latchkey::http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.io_threads = 1;
  options.read_timeout = std::chrono::seconds(2);
  auto server = latchkey::http::Server::bind(
      options, latchkey::http::AsyncHandler([](latchkey::http::Request request, latchkey::http::Respond respond) {
        app->api().handle(std::move(request), std::move(respond));
      }));
  if (!server.ok()) __builtin_trap();
  port = (*server)->port();
  std::thread([s = std::move(*server)] { s->run(); }).detach();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fd = connect_to_server();
  for (std::size_t sent = 0; sent < size;) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early on a bad request
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buffer[4096];
  while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
  }
  ::close(fd);
  // Still serving: a well-formed request gets its answer.
  if (size % 64 == 0) probe_health();
  return 0;
}
