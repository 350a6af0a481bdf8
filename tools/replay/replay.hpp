// latchkey-replay: the auditor's tool (SPEC §7). Every subcommand reads a
// data directory that is stopped, a backup copy, or held by a running server
// (the log is opened as a RocksDB secondary instance, which never writes to
// it). Only `rebuild` writes, to the read models, and needs the server stopped.
//
// run_replay() is the whole program minus main(), so tests can call it.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::replay {

// Returns the process exit code: 0 fine, 1 the log is broken (verify), 2 usage
// or another error.
int run_replay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line
// break, with quotes doubled.
std::string csv_field(std::string_view value);

}  // namespace latchkey::replay
