// Command-line parsing and the shared plumbing of the subcommands.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::replay {

// "--name value" options, "--flag" switches and positional words.
struct Options {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::vector<std::string> words;

  bool has(const std::string& name) const { return values.contains(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

// Parses args; `switches` names the options that take no value. On a bad
// command line writes the reason to err and returns nothing.
std::optional<Options> parse(const std::vector<std::string>& args, const std::set<std::string>& switches,
                             std::ostream& err);

// A fresh private directory under the system temp dir, removed on destruction;
// path() is empty if it could not be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The log of a data directory, opened as a secondary instance in a private
// temporary directory (removed on destruction).
class Log {
 public:
  static Result<std::unique_ptr<Log>> open(const std::string& data_dir);
  ~Log();
  eventstore::EventStore& store() { return *store_; }

 private:
  TempDir secondary_dir_{"latchkey-replay"};  // destroyed after the store
  std::unique_ptr<eventstore::EventStore> store_;
};

int usage_error(std::ostream& err, const std::string& message, const char* usage);
// Writes the error and returns exit code 2.
int report_error(std::ostream& err, const Error& e);

// The subcommands; each returns an exit code.
int verify_command(const Options& o, std::ostream& out, std::ostream& err);
int checkpoint_command(const Options& o, std::ostream& out, std::ostream& err);
int keygen_command(const Options& o, std::ostream& out, std::ostream& err);
int history_command(const Options& o, std::ostream& out, std::ostream& err);
int export_command(const Options& o, std::ostream& out, std::ostream& err);
int stats_command(const Options& o, std::ostream& out, std::ostream& err);
int as_of_command(const Options& o, std::ostream& out, std::ostream& err);
int rebuild_command(const Options& o, std::ostream& out, std::ostream& err);

}  // namespace latchkey::replay
