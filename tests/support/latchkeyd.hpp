// The real latchkeyd as a child process on 127.0.0.1 with a free port and a
// temp data dir, and a small JSON client for it. For end-to-end tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ApiReply {
  int status = 0;
  std::string head;
  std::string body;
  nlohmann::json json;  // null unless the body is JSON

  // A response header's value (case-insensitive name); "" when absent.
  std::string header(std::string name) const {
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon);
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key != name) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (!value.empty() && value.back() == '\r') value.pop_back();
      return value;
    }
    return {};
  }
  std::string code() const { return json.is_object() && json.contains("code") ? json["code"].get<std::string>() : ""; }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request on its own connection. `body` is sent as application/json when
// not empty (or always for POST/PUT/PATCH).
inline ApiReply api_call(std::uint16_t port, const std::string& method, const std::string& target,
                         const std::string& bearer = {}, const std::string& body = {},
                         const Headers& headers = {}) {
  std::string bytes = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!bearer.empty()) bytes += "Authorization: Bearer " + bearer + "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    bytes += k + ": " + v + "\r\n";
    if (k == "Content-Type") has_type = true;
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    if (!has_type) bytes += "Content-Type: application/json\r\n";
    bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  bytes += "\r\n" + body;
  auto raw = raw_exchange(port, bytes);
  ApiReply reply{raw.status, raw.head, raw.body, nullptr};
  if (!raw.body.empty()) reply.json = nlohmann::json::parse(raw.body, nullptr, false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

// Whether process `pid` has exited (or is a zombie not yet waited for).
inline bool has_exited(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z';
}

// Whether process `pid` holds the socket listening on TCP port `port`
// (/proc/net/tcp's LISTEN entries, matched by inode to the process's fds).
inline bool listens_on(pid_t pid, std::uint16_t port) {
  std::set<std::string> sockets;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.starts_with("socket:[")) sockets.insert(target.substr(8, target.size() - 9));
  }
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    const auto colon = local.find(':');
    if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port && sockets.contains(inode)) return true;
  }
  return false;
}

class LatchkeydProcess {
 public:
  // Starts latchkeyd on a free port and waits (up to 10 s) until it is ready.
  // A port free_port() handed out may be taken by another test's server
  // before this one binds it (tests run side by side): then this server
  // exits with "cannot listen", the other answers on the port, and the
  // server is started again on another port.
  LatchkeydProcess(const TempDir& dir, std::vector<std::string> extra_args = {},
                   const std::string& log_name = "server.log")
      : dir_(dir), log_path_(dir.str(log_name)) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      std::vector<std::string> args = {"--data", data_dir(), "--listen", "127.0.0.1:" + std::to_string(port_)};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      process_ = std::make_unique<ChildProcess>(LATCHKEYD, args, log_path_);
      bool lost_the_port = false;
      for (int i = 0; i < 1000 && !ready(); ++i) {
        if (has_exited(process_->pid())) {
          lost_the_port = log().find("cannot listen") != std::string::npos;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!lost_the_port) return;
    }
  }

  // Ready, and it is this server that answers.
  bool ready() const {
    return listens_on(process_->pid(), port_) && request(port_, "GET", "/readyz").status == 200;
  }
  std::uint16_t port() const { return port_; }
  std::string data_dir() const { return dir_.str("data"); }
  std::string platform_key() const {
    std::string key = slurp(data_dir() + "/platform.key");
    key.erase(key.find_last_not_of('\n') + 1);
    return key;
  }
  std::string log() const { return slurp(log_path_); }
  std::string outbox() const { return slurp(data_dir() + "/outbox.jsonl"); }
  // SIGTERM; the exit status (0 for a clean shutdown).
  int stop() { return process_->signal_and_wait(SIGTERM); }
  ChildProcess& process() { return *process_; }

  ApiReply call(const std::string& method, const std::string& target, const std::string& bearer = {},
                const std::string& body = {}, const Headers& headers = {}) const {
    return api_call(port_, method, target, bearer, body, headers);
  }
  ApiReply call(const std::string& method, const std::string& target, const std::string& bearer,
                const nlohmann::json& body, const Headers& headers = {}) const {
    return api_call(port_, method, target, bearer, body.dump(), headers);
  }

 private:
  const TempDir& dir_;
  std::uint16_t port_ = 0;
  std::string log_path_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace latchkey::testing
