#include "config.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace latchkey::app {

const char* const kUsage = R"(latchkeyd: the Latchkey server

usage: latchkeyd [options]

Every option is also an environment variable (LATCHKEY_ and the name in
upper case with '_' for '-', e.g. LATCHKEY_DATA) and a line "name = value" in
the --config file. Flags win over the environment, which wins over the file.

  --data DIR                  where the event store, read models and keys live;
                              created if missing (default ./data)
  --listen HOST:PORT          address to serve HTTP on; port 0 picks a free port
                              (default 127.0.0.1:8080)
  --config FILE               read options from FILE
  --io-threads N              HTTP I/O threads (default: half the number of
                              cores, at least 1)
  --hash-workers N            threads hashing passwords with Argon2id (default:
                              the number of cores)
  --hash-queue N              hashing jobs that may wait; more get 503 (default 256)
  --hash-nice N               run the hashing threads N steps below the server's
                              priority (0 to 19, as nice(1)): other requests go first
                              when the cores are busy (default 10)
  --command-workers N         threads running commands; they do not wait for the
                              fsync (default: the number of cores, at least 2)
  --command-queue N           commands (and read-your-writes queries) that may wait
                              for a thread; more get 503 (default 8192)
  --wait-workers N            threads for queries waiting for min_position, and
                              audit exports (default 64)
  --password-hash-cost C      interactive (default), moderate, or test (libsodium's
                              minimum; refused without --dev-clock)
  --mail smtp://HOST:PORT|file:PATH
                              where email goes (default file:DATA/outbox.jsonl);
                              plain SMTP, no STARTTLS or AUTH: relay through a local MTA
  --mail-from ADDRESS         envelope and From address of email (default no-reply@localhost)
  --sms http(s)://URL|file:PATH
                              where SMS goes: a webhook receiving POST {"to","body","message_id"}
                              (default file:DATA/outbox.jsonl)
  --sms-ca-file PATH          PEM certificates trusted for an https:// SMS webhook
                              (default: the system's)
  --public-rate-limit N       requests per minute per source IP on the public
                              routes (log in, resets, claims); 0 turns it off (default 60)
  --public-rate-burst N       requests at once before the limit applies (default 30)
  --self-service-floor-ms N   self-service resets and account claims answer no
                              sooner than this, known account or not (default 200)
  --dev-clock                 adds POST /v1/dev/clock {"advance_seconds": N} to
                              test expiry; never in production (default off)
  --log-level L               trace, debug, info (default), warn, error
  --help                      this text

On first start with an empty DIR it prints the platform key once and writes
it to DIR/platform.key (mode 0600). SIGTERM or SIGINT shuts down gracefully:
in-flight requests are answered first.
)";

namespace {

bool truthy(const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw std::invalid_argument("expected true or false, got " + v);
}

long number(const std::string& name, const std::string& v, long min, long max) {
  std::size_t used = 0;
  long n = 0;
  try {
    n = std::stol(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || n < min || n > max) {
    throw std::invalid_argument(name + " must be a number from " + std::to_string(min) + " to " +
                                std::to_string(max));
  }
  return n;
}

// Sets one option by name (without the leading dashes).
void set(Config& c, const std::string& name, const std::string& v) {
  if (name == "data") {
    c.data_dir = v;
  } else if (name == "listen") {
    c.listen = v;
  } else if (name == "io-threads") {
    c.io_threads = static_cast<int>(number(name, v, 1, 64));
  } else if (name == "hash-workers") {
    c.hash_workers = static_cast<std::size_t>(number(name, v, 1, 256));
  } else if (name == "hash-nice") {
    c.hash_nice = static_cast<int>(number(name, v, 0, 19));
  } else if (name == "hash-queue") {
    c.hash_queue = static_cast<std::size_t>(number(name, v, 1, 1'000'000));
  } else if (name == "command-workers") {
    c.command_workers = static_cast<std::size_t>(number(name, v, 1, 1024));
  } else if (name == "wait-workers") {
    c.wait_workers = static_cast<std::size_t>(number(name, v, 1, 1024));
  } else if (name == "command-queue") {
    c.command_queue = static_cast<std::size_t>(number(name, v, 1, 1'000'000));
  } else if (name == "password-hash-cost") {
    c.password_hash_cost = v;
  } else if (name == "mail") {
    c.mail = v;
  } else if (name == "sms") {
    c.sms = v;
  } else if (name == "mail-from") {
    c.mail_from = v;
  } else if (name == "sms-ca-file") {
    c.sms_ca_file = v;
  } else if (name == "public-rate-limit") {
    c.public_rate_per_minute = static_cast<double>(number(name, v, 0, 1'000'000));
  } else if (name == "public-rate-burst") {
    c.public_rate_burst = static_cast<double>(number(name, v, 1, 1'000'000));
  } else if (name == "self-service-floor-ms") {
    c.self_service_floor_ms = number(name, v, 0, 10'000);
  } else if (name == "dev-clock") {
    c.dev_clock = truthy(v);
  } else if (name == "log-level") {
    if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error") {
      throw std::invalid_argument("--log-level must be trace, debug, info, warn or error");
    }
    c.log_level = v;
  } else {
    throw std::invalid_argument("unknown option " + name);
  }
}

const std::vector<std::string>& option_names() {
  static const std::vector<std::string> names = {
      "data", "listen", "io-threads", "hash-workers", "hash-queue", "hash-nice", "command-workers",
      "command-queue", "wait-workers", "password-hash-cost", "mail", "sms", "mail-from",
      "sms-ca-file", "public-rate-limit", "public-rate-burst", "self-service-floor-ms",
      "dev-clock", "log-level"};
  return names;
}

std::string env_name(const std::string& option) {
  std::string out = "LATCHKEY_";
  for (char ch : option) out += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

void read_file(Config& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read the config file " + path);
  std::string line;
  int number_of_line = 0;
  while (std::getline(in, line)) {
    ++number_of_line;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    line = trim(line);
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument(path + ":" + std::to_string(number_of_line) + ": expected name = value");
    }
    set(c, trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
  }
}

}  // namespace

bool parse_config(int argc, char** argv, Config& config) {
  config.io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
  config.hash_workers = std::max(1u, std::thread::hardware_concurrency());
  config.command_workers = std::max(2u, std::thread::hardware_concurrency());
  // The config file first (from the flag, else the environment).
  std::string file;
  if (const char* v = std::getenv("LATCHKEY_CONFIG")) file = v;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") file = argv[i + 1];
  }
  if (!file.empty()) read_file(config, file);
  for (const auto& name : option_names()) {
    if (const char* v = std::getenv(env_name(name).c_str())) set(config, name, v);
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return false;
    }
    if (arg.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument " + arg);
    std::string name = arg.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (name == "dev-clock") {
      value = "true";
    } else {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      value = argv[++i];
    }
    if (name == "config") continue;
    set(config, name, value);
  }
  return true;
}

}  // namespace latchkey::app
