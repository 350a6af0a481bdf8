// latchkeyd: the composition root. Reads the configuration, opens the event
// store, makes sure the platform key exists, and serves HTTP until SIGTERM.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "latchkey/http/server.hpp"
#include "platform_key.hpp"

namespace {

using latchkey::http::Request;
using latchkey::http::problem;
using latchkey::http::Response;

// The server's configuration: defaults here, then LATCHKEY_* environment
// variables, then command-line flags (highest precedence).
struct Config {
  std::string data_dir = "data";           // --data, LATCHKEY_DATA
  std::string listen = "127.0.0.1:8080";   // --listen, LATCHKEY_LISTEN
  int io_threads = 2;                      // --io-threads, LATCHKEY_IO_THREADS
};

constexpr const char* kUsage = R"(latchkeyd: the Latchkey server

usage: latchkeyd [--data DIR] [--listen HOST:PORT] [--io-threads N]

  --data DIR          where the event store lives; created if missing
                      (env LATCHKEY_DATA, default ./data)
  --listen HOST:PORT  address to serve HTTP on; port 0 picks a free port
                      (env LATCHKEY_LISTEN, default 127.0.0.1:8080)
  --io-threads N      HTTP I/O threads (env LATCHKEY_IO_THREADS, default 2)
  --help              this text

On first start with an empty DIR it prints the platform key once and writes
it to DIR/platform.key (mode 0600). SIGTERM or SIGINT shuts down gracefully.
)";

bool parse_config(int argc, char** argv, Config& config) {
  if (const char* v = std::getenv("LATCHKEY_DATA")) config.data_dir = v;
  if (const char* v = std::getenv("LATCHKEY_LISTEN")) config.listen = v;
  if (const char* v = std::getenv("LATCHKEY_IO_THREADS")) config.io_threads = std::atoi(v);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--data") {
      config.data_dir = value();
    } else if (arg == "--listen") {
      config.listen = value();
    } else if (arg == "--io-threads") {
      config.io_threads = std::stoi(value());
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  if (config.io_threads < 1 || config.io_threads > 64) {
    throw std::invalid_argument("--io-threads must be 1 to 64");
  }
  return true;
}

Response json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response route(const Request& request, latchkey::eventstore::EventStore& store) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  auto only_get = [&](auto answer) {
    if (request.method != "GET") {
      Response r = problem(405, "method_not_allowed", "This route only answers GET.");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return answer();
  };
  if (path == "/healthz") return only_get([] { return json(200, R"({"status":"ok"})"); });
  if (path == "/readyz") {
    return only_get([&] {
      return json(200, R"({"status":"ready","position":)" + std::to_string(store.head()) + "}");
    });
  }
  if (path == "/metrics") {
    return only_get([&] {
      Response r = json(200, "# HELP latchkey_log_head_position Last durable position of the log.\n"
                             "# TYPE latchkey_log_head_position gauge\n"
                             "latchkey_log_head_position " +
                                 std::to_string(store.head()) + "\n");
      r.content_type = "text/plain; version=0.0.4";
      return r;
    });
  }
  return problem(404, "not_found", "No such route.");
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%v"})",
                      spdlog::pattern_time_type::utc);
  Config config;
  try {
    parse_config(argc, argv, config);
  } catch (const std::exception& e) {
    std::cerr << "latchkeyd: " << e.what() << "\n\n" << kUsage;
    return 2;
  }
  if (sodium_init() < 0) {
    spdlog::critical("libsodium failed to initialise");
    return 1;
  }

  std::filesystem::create_directories(config.data_dir);
  auto store = latchkey::eventstore::open_rocksdb_event_store(
      (std::filesystem::path(config.data_dir) / "events").string());
  if (!store.ok()) {
    spdlog::critical("cannot open the event store: {}", store.error().message);
    return 1;
  }
  auto key = latchkey::app::ensure_platform_key(**store, config.data_dir);
  if (!key.ok()) {
    spdlog::critical("cannot create the platform key: {}", key.error().message);
    return 1;
  }
  if (key->has_value()) {
    // Printed once, on stdout only, never logged.
    std::cout << "Platform key (shown once; also in " << config.data_dir
              << "/platform.key):\n  " << **key << "\n"
              << std::flush;
  }

  latchkey::http::ServerOptions options;
  options.listen = config.listen;
  options.io_threads = config.io_threads;
  auto& event_store = **store;
  auto server = latchkey::http::Server::bind(
      options, [&event_store](const Request& r) { return route(r, event_store); });
  if (!server.ok()) {
    spdlog::critical("{}", server.error().message);
    return 1;
  }
  spdlog::info("listening on {}:{} with data in {} (log head {})",
               config.listen.substr(0, config.listen.rfind(':')), (*server)->port(),
               config.data_dir, event_store.head());
  (*server)->run();
  spdlog::info("stopped");
  return 0;
}
