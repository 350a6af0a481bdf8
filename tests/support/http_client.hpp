// A minimal blocking HTTP/1.1 client over a loopback socket, for end-to-end
// tests (deliberately not Beast: tests should not share the server's parser).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace latchkey::testing {

struct HttpReply {
  int status = 0;  // 0 when the connection failed
  std::string head;
  std::string body;
};

// A loopback port nothing listens on, for a server or sink a test starts.
// The kernel hands out a port that is free now; once the probe closes it,
// the kernel may hand the same port to a test running beside this one. So
// each port handed out is also claimed for ten minutes, across test
// processes, by a file in /tmp/latchkey-test-ports created exclusively.
inline std::uint16_t free_port() {
  const std::string claims = "/tmp/latchkey-test-ports";
  ::mkdir(claims.c_str(), 0777);
  for (int attempt = 0;; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    const std::uint16_t port = ntohs(addr.sin_port);
    if (attempt >= 50) return port;  // the claims cannot be made: as before
    const std::string claim = claims + "/" + std::to_string(port);
    int c = ::open(claim.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (c < 0) {
      // Claimed: taken unless the claim is stale (its test is long done).
      struct stat st {};
      if (::stat(claim.c_str(), &st) != 0 || std::time(nullptr) - st.st_mtime < 600) continue;
      ::unlink(claim.c_str());
      c = ::open(claim.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
      if (c < 0) continue;
    }
    ::close(c);
    return port;
  }
}

// A connected socket to 127.0.0.1:port, or -1.
inline int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends raw bytes and reads until the server closes the connection.
inline HttpReply raw_exchange(std::uint16_t port, const std::string& bytes) {
  HttpReply reply;
  int fd = connect_loopback(port);
  if (fd < 0) return reply;
  for (std::size_t sent = 0; sent < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string all;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || split == std::string::npos) return reply;
  reply.status = std::stoi(all.substr(9, 3));
  reply.head = all.substr(0, split);
  reply.body = all.substr(split + 4);
  return reply;
}

inline HttpReply request(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& body = {}) {
  std::string bytes = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    bytes += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
  }
  bytes += "\r\n" + body;
  return raw_exchange(port, bytes);
}

}  // namespace latchkey::testing
