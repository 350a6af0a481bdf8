#include "replay.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "options.hpp"

namespace latchkey::replay {
namespace {

constexpr const char* kUsage = R"(usage: latchkey-replay COMMAND --data DIR [options]

Reads a Latchkey data directory: stopped, a backup copy, or beside a running
server (the log is opened read-only, as a secondary instance).

commands:
  verify      check every event decodes and the hash chain holds; exit 1 at the first break
              [--checkpoint FILE --pubkey FILE]  also prove a signed checkpoint still holds
  checkpoint  print the head position and hash, signed:  --key FILE
  keygen      make an Ed25519 key pair for checkpoints:   --out FILE (and FILE.pub)
  history     one guardian's, family's or stream's events:
              --tenant T (--guardian G | --family F | --stream S) [--json]
  as-of       a read model's answer at a past moment:
              (--time RFC3339 | --position P) QUERY --tenant T ...
              QUERY: guardian --guardian G | family --family F | family-policies --family F
                     | acceptances --policy P [--version V] | sms-credits | settings
  rebuild     rebuild read models from scratch (server stopped) [--projection NAME]
  export      the audit log: --tenant T [--from RFC3339] [--to RFC3339] --format ndjson|csv
  stats       events by type and tenant, streams, size on disk [--json]

Each command takes --help.
)";

}  // namespace

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::optional<Options> parse(const std::vector<std::string>& args, const std::set<std::string>& switches,
                             std::ostream& err) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a.rfind("--", 0) != 0) {
      o.words.push_back(a);
      continue;
    }
    const std::string name = a.substr(2);
    if (switches.contains(name)) {
      o.flags.insert(name);
      continue;
    }
    if (i + 1 >= args.size()) {
      err << "latchkey-replay: --" << name << " needs a value\n";
      return std::nullopt;
    }
    o.values[name] = args[++i];
  }
  return o;
}

int usage_error(std::ostream& err, const std::string& message, const char* usage) {
  err << "latchkey-replay: " << message << "\n" << usage;
  return 2;
}

int report_error(std::ostream& err, const Error& e) {
  err << "latchkey-replay: " << e.message << "\n";
  return 2;
}

Result<std::unique_ptr<Log>> Log::open(const std::string& data_dir) {
  const std::string path = data_dir + "/events";
  if (!std::filesystem::exists(path + "/CURRENT")) {
    return make_error("not_found", "no Latchkey log at " + path);
  }
  auto log = std::unique_ptr<Log>(new Log());
  if (log->secondary_dir_.path().empty()) return make_error("storage_error", "cannot make a temporary directory");
  eventstore::RocksDbOptions options;
  options.mode = eventstore::RocksDbOptions::Mode::secondary;
  options.secondary_dir = log->secondary_dir_.path();
  auto store = eventstore::open_rocksdb_event_store(path, options);
  if (!store) return store.error();
  log->store_ = std::move(*store);
  if (auto r = log->store_->refresh(); !r) return r.error();
  return log;
}

Log::~Log() { store_.reset(); }

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

int run_replay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  static const std::map<std::string, std::function<int(const Options&, std::ostream&, std::ostream&)>> commands = {
      {"verify", verify_command},   {"checkpoint", checkpoint_command}, {"keygen", keygen_command},
      {"history", history_command}, {"export", export_command},         {"stats", stats_command},
      {"as-of", as_of_command},     {"rebuild", rebuild_command}};
  auto it = commands.find(args[0]);
  if (it == commands.end()) return usage_error(err, "unknown command " + args[0], kUsage);
  auto options = parse({args.begin() + 1, args.end()}, {"json", "help"}, err);
  if (!options) return 2;
  return it->second(*options, out, err);
}

}  // namespace latchkey::replay
