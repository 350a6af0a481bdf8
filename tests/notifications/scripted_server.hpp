// A one-connection server on 127.0.0.1 that plays a script: the transports'
// tests talk to it as they would to a mail server or an SMS gateway.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::notifications {

// Listens on a free port; serve() runs `script` on the first connection.
class ScriptedServer {
 public:
  ScriptedServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 4);
  }
  ~ScriptedServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

  // The script reads lines with `line()` and answers with `say()`.
  void serve(std::function<void(ScriptedServer&)> script) {
    thread_ = std::thread([this, script] {
      conn_ = ::accept(fd_, nullptr, nullptr);
      script(*this);
      ::close(conn_);
    });
  }
  void say(const std::string& text) { (void)::write(conn_, text.data(), text.size()); }
  std::string line() {
    std::string out;
    char c;
    while (::read(conn_, &c, 1) == 1) {
      out += c;
      if (out.ends_with("\r\n")) return out.substr(0, out.size() - 2);
    }
    return out;
  }
  // Reads exactly `n` bytes (fewer if the client goes away).
  std::string bytes(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const auto r = ::read(conn_, out.data() + got, n - got);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }
  // Reads DATA up to the lone dot; returns it with the final ".\r\n".
  std::string data() {
    std::string out;
    while (!out.ends_with("\r\n.\r\n")) {
      auto l = line();
      out += l + "\r\n";
      if (l.empty() && out.size() > 1000000) break;
    }
    return out;
  }
  std::vector<std::string> seen;

 private:
  int fd_ = -1;
  int conn_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace latchkey::notifications
