// latchkeyd's configuration (SPEC §7): defaults, then an optional config
// file, then LATCHKEY_* environment variables, then command-line flags; each
// later source wins. Every option has the same name everywhere: the flag
// --hash-workers is LATCHKEY_HASH_WORKERS and `hash-workers = 2` in the file.
#pragma once

#include <cstddef>
#include <string>

namespace latchkey::app {

struct Config {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8080";
  // Half the cores, at least one: an I/O thread's time is mostly the
  // kernel's TCP work, and on two cores a second one, sharing them with the
  // command, projection and syncer threads (and a load generator), raised
  // the GET p99 from ~2 ms to ~8 ms without adding throughput.
  int io_threads = 1;
  bool dev_clock = false;
  std::string password_hash_cost = "interactive";
  std::string mail;  // empty: file:DATA/outbox.jsonl
  std::string sms;   // empty: file:DATA/outbox.jsonl
  std::string mail_from = "no-reply@localhost";
  std::string sms_ca_file;  // empty: the system's trusted CAs
  std::size_t hash_workers = 2;
  std::size_t hash_queue = 256;
  // How many steps below the server's priority the hash pool runs (its nice
  // increment). An Argon2id hash keeps a core busy far longer than any other
  // request's work; at nice 10 the scheduler usually lets a waking I/O or command
  // thread run first, so cheap requests keep their latency while logins
  // saturate the pool (GET p99 medians 4.1-4.5 ms instead of 6.1-6.9 on the
  // 2-core bench machine). Hashing gives up only time that other work is
  // waiting for: on idle cores it runs as fast as at nice 0.
  int hash_nice = 10;
  // Commands do not wait for their fsync (the answer does), so a thread per
  // core keeps the cores busy; more only contend. Default: the cores, at least 2.
  std::size_t command_workers = 2;
  std::size_t command_queue = 8192;
  // Queries that wait for a read model to reach min_position hold a thread
  // each while they wait (at most 5 s); so does an audit export.
  std::size_t wait_workers = 64;
  double public_rate_per_minute = 60;
  double public_rate_burst = 30;
  long self_service_floor_ms = 200;
  std::string log_level = "info";
};

extern const char* const kUsage;

// False after printing --help. Throws std::invalid_argument on a bad option.
bool parse_config(int argc, char** argv, Config& config);

}  // namespace latchkey::app
