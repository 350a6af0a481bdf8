// latchkeyd: the composition root. Reads the configuration, opens the event
// store and the read models, makes sure the platform and token keys exist,
// wires the command handlers, the read side, the outbox dispatcher and the
// HTTP API together, and serves until SIGTERM.
#include <pthread.h>
#include <sodium.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "api.hpp"
#include "config.hpp"
#include "heap.hpp"
#include "latchkey/commands/commands.hpp"
#include "latchkey/commands/sodium_ports.hpp"
#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "latchkey/http/server.hpp"
#include "latchkey/notifications/dispatcher.hpp"
#include "latchkey/notifications/transports.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"
#include "platform_key.hpp"

namespace {

// The log message as a JSON string body (quotes, backslashes and control
// characters escaped), so that every log line is one valid JSON object.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

void set_up_logging(const std::string& level) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
  spdlog::set_formatter(std::move(formatter));
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

// Checks a transport's kind against its channel, before anything is opened.
void check_transport(const std::string& target, const std::string& flag, bool mail) {
  const bool file = target.rfind("file:", 0) == 0 && target.size() > 5;
  const bool smtp = target.rfind("smtp://", 0) == 0;
  const bool webhook = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
  if (file || (mail && smtp) || (!mail && webhook)) return;
  throw std::invalid_argument(flag + (mail ? " must be smtp://HOST:PORT or file:PATH"
                                           : " must be http(s)://URL or file:PATH"));
}

}  // namespace

int main(int argc, char** argv) {
  latchkey::app::Config config;
  try {
    if (!latchkey::app::parse_config(argc, argv, config)) return 0;  // --help
  } catch (const std::exception& e) {
    std::cerr << "latchkeyd: " << e.what() << "\n\n" << latchkey::app::kUsage;
    return 2;
  }
  set_up_logging(config.log_level);
  if (sodium_init() < 0) {
    spdlog::critical("libsodium failed to initialise");
    return 1;
  }
  namespace fs = std::filesystem;
  using namespace latchkey;

  auto hash_cost = commands::parse_hash_cost(config.password_hash_cost);
  if (!hash_cost.ok()) {
    std::cerr << "latchkeyd: --password-hash-cost must be interactive, moderate or test\n";
    return 2;
  }
  if (*hash_cost == commands::HashCost::test && !config.dev_clock) {
    std::cerr << "latchkeyd: --password-hash-cost test is for tests only and needs --dev-clock\n";
    return 2;
  }
  std::string mail_target, sms_target;
  try {
    const std::string default_outbox = "file:" + (fs::path(config.data_dir) / "outbox.jsonl").string();
    mail_target = config.mail.empty() ? default_outbox : config.mail;
    sms_target = config.sms.empty() ? default_outbox : config.sms;
    check_transport(mail_target, "--mail", true);
    check_transport(sms_target, "--sms", false);
  } catch (const std::exception& e) {
    std::cerr << "latchkeyd: " << e.what() << "\n";
    return 2;
  }

  // The store holds undelivered messages with their plain links and
  // passwords (the outbox) and guardians' personal data: a data directory
  // Latchkey creates is its owner's alone. One that exists is left as it is,
  // with a warning when others may read it.
  std::error_code dir_error;
  const bool created = fs::create_directories(config.data_dir, dir_error);
  if (!dir_error && created) fs::permissions(config.data_dir, fs::perms::owner_all, dir_error);
  if (dir_error) {
    spdlog::critical("cannot create the data directory {}: {}", config.data_dir, dir_error.message());
    return 1;
  }
  const auto dir_status = fs::status(config.data_dir, dir_error);
  if (!dir_error && (dir_status.permissions() & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    spdlog::warn("the data directory {} is open to other users; it holds undelivered reset links (chmod 700)",
                 config.data_dir);
  }
  auto store = eventstore::open_rocksdb_event_store((fs::path(config.data_dir) / "events").string());
  if (!store.ok()) {
    spdlog::critical("cannot open the event store: {}", store.error().message);
    return 1;
  }
  auto& log = **store;
  // The ports (the clock carries the --dev-clock offset).
  commands::SystemClock clock;
  commands::SodiumRandom random;
  auto key = app::ensure_platform_key(log, config.data_dir, random, clock);
  if (!key.ok()) {
    spdlog::critical("cannot create the platform key: {}", key.error().message);
    return 1;
  }
  if (key->has_value()) {
    // Printed once, on stdout only, never logged.
    std::cout << "Platform key (shown once; also in " << config.data_dir << "/platform.key):\n  " << **key
              << "\n"
              << std::flush;
  }
  auto platform_hash = app::platform_key_hash(log);
  auto token_key = app::load_or_create_token_key(config.data_dir);
  if (!platform_hash.ok() || !token_key.ok()) {
    spdlog::critical("cannot read the server's keys: {}",
                     !platform_hash.ok() ? platform_hash.error().message : token_key.error().message);
    return 1;
  }

  // The read side: persisted read models with their checkpoints.
  auto read_db = projections::open_read_model_db((fs::path(config.data_dir) / "readmodels").string());
  if (!read_db.ok()) {
    spdlog::critical("cannot open the read models: {}", read_db.error().message);
    return 1;
  }
  projections::ProjectionRunner runner(log, **read_db, projections::make_all_projections(**read_db));
  if (auto opened = runner.open(); !opened.ok()) {
    spdlog::critical("cannot open the read models: {}", opened.error().message);
    return 1;
  }

  // The write side.
  commands::Argon2idHasher passwords(*hash_cost);
  commands::Blake2bTokenHasher tokens(*token_key);
  commands::CommandHandlers handlers(log, commands::Ports{clock, random, passwords, tokens});
  projections::ReadModels reads(**read_db, log, clock, &runner);
  if (config.dev_clock) {
    spdlog::warn("DEV CLOCK ENABLED: POST /v1/dev/clock moves time forward. Never use this in production.");
  }

  // Delivery of the outbox; mail and SMS share one transport when they share a file.
  using TransportResult = Result<std::unique_ptr<notifications::Transport>>;
  notifications::TransportSpec spec;
  spec.sender.address = config.mail_from;
  spec.sender.domain = config.mail_from.substr(config.mail_from.find('@') + 1);
  spec.ca_file = config.sms_ca_file;
  spec.target = mail_target;
  TransportResult mail = notifications::open_transport(spec);
  TransportResult own_sms = std::unique_ptr<notifications::Transport>();
  if (sms_target != mail_target) {
    spec.target = sms_target;
    own_sms = notifications::open_transport(spec);
  }
  if (!mail.ok() || !own_sms.ok()) {
    spdlog::critical("cannot open the message transports: {}",
                     !mail.ok() ? mail.error().message : own_sms.error().message);
    return 1;
  }
  notifications::Transport& sms = *own_sms ? **own_sms : **mail;
  notifications::DispatcherOptions dispatch_options;
  dispatch_options.still_current = [&handlers](const domain::OutboxMessage& m, domain::Micros now) {
    return handlers.message_still_current(m, now);
  };
  notifications::Dispatcher dispatcher(log, clock, random, **mail, sms, dispatch_options);

  // Freed memtables and caches go back to the system (app/heap.cpp says why).
  app::HeapTrimmer heap_trimmer(std::chrono::seconds(30));
  app::WorkerPool hash_pool("hash", config.hash_workers, config.hash_queue, config.hash_nice);
  app::WorkerPool command_pool("command", config.command_workers, config.command_queue);
  app::WorkerPool wait_pool("wait", config.wait_workers, config.command_queue);
  app::ApiOptions api_options;
  api_options.dev_clock = config.dev_clock;
  api_options.public_per_minute = config.public_rate_per_minute;
  api_options.public_burst = config.public_rate_burst;
  api_options.self_service_floor = std::chrono::milliseconds(config.self_service_floor_ms);
  api_options.platform_key_hash = *platform_hash;
  api_options.io_threads = config.io_threads;
  app::Api api(app::ApiDeps{handlers, reads, runner, log, clock, random, hash_pool, command_pool,
                            wait_pool, &dispatcher},
               api_options);

  http::ServerOptions options;
  options.listen = config.listen;
  options.io_threads = config.io_threads;
  auto server = http::Server::bind(
      options, http::AsyncHandler([&api](http::Request request, http::Respond respond) {
        api.handle(std::move(request), std::move(respond));
      }));
  if (!server.ok()) {
    spdlog::critical("{}", server.error().message);
    return 1;
  }

  // Serve at once (health checks answer); ready once the read models have
  // caught up with the log as it was at start.
  std::thread boot([&] {
    pthread_setname_np(pthread_self(), "lk-boot");
    const auto head = log.head();
    auto caught_up = runner.catch_up(head);
    if (!caught_up.ok()) spdlog::error("read models failed to catch up: {}", caught_up.error().message);
    runner.start();
    dispatcher.start();
    api.set_ready(true);
    spdlog::info("ready: read models at position {}", runner.applied());
  });
  spdlog::info("listening on {}:{} with data in {} (log head {})",
               config.listen.substr(0, config.listen.rfind(':')), (*server)->port(), config.data_dir,
               log.head());
  (*server)->run();
  boot.join();
  // In-flight requests are answered; finish queued work, then stop the rest.
  hash_pool.stop();
  command_pool.stop();
  wait_pool.stop();
  dispatcher.stop();
  runner.stop();
  spdlog::info("stopped");
  return 0;
}
