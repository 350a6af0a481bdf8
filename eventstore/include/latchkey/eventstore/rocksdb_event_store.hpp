// Opens the RocksDB-backed event store. The layout on disk (column families,
// keys) is documented in docs/ARCHITECTURE.md.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "latchkey/eventstore/event_store.hpp"

namespace rocksdb {
class DB;
struct BlockBasedTableOptions;
}

namespace latchkey::eventstore {

struct RocksDbOptions {
  enum class Mode {
    read_write,  // the server; takes the directory's lock (one writer process)
    read_only,   // a stopped store or a backup copy; sees the log as of open
    secondary,   // beside a running server; refresh() catches up (needs secondary_dir)
  };
  Mode mode = Mode::read_write;
  // Where a secondary instance keeps its own info log and metadata. Required
  // for Mode::secondary; must not be inside the primary's directory.
  std::string secondary_dir;
  // Shared block cache for all column families. Default 32 MiB: the store's
  // hot reads are the newest events (in the memtable) and stream heads; more
  // cache mostly adds RSS (SPEC §8 caps the server at 256 MiB).
  std::size_t block_cache_bytes = 32u << 20;
  // All column families' memtables together: when they pass this, RocksDB
  // flushes them all, together. Without it each family may hold 2 × 64 MiB, and a
  // long-running server's RSS creeps up family by family (the soak showed it).
  std::size_t memtable_budget_bytes = 32u << 20;
  // Group commit: before an fsync, how long to wait for as many appenders as
  // the previous fsync carried to be written, so one fsync serves them all.
  // Bounded so that a drop in load costs at most this much latency once.
  // Default 250 µs, below one fsync on an SSD (~300-400 µs measured here).
  unsigned group_commit_window_us = 250;
  // Each new write-ahead log file starts as this many bytes already written
  // (zeros), prepared in the background, so that an append's fsync writes
  // its data and not also the file's growth: ~40% less time per fsync here.
  // A WAL rarely outgrows the memtable budget; past this it grows as usual.
  // Costs up to twice this on disk (the live WAL and the next one). 0: off;
  // also off when `sync` is false (nothing to gain without fsyncs).
  std::size_t wal_prepared_bytes = 32u << 20;
  // How many streams' last versions the store remembers (it forgets them all
  // at once past this, and relearns them from later appends and reads).
  // Tests set it small to exercise forgetting under concurrency.
  std::size_t max_cached_streams = 1u << 18;
  // Tests only: asked before each fsync of the log; true makes that fsync
  // fail (as a full or broken disk would) instead of syncing. Unset in the
  // server.
  std::function<bool()> fail_sync_for_test;
  // When false, appends still group but do not fsync. Only for tests that
  // measure something else; never in the server.
  bool sync = true;
};

// Creates the store when `path` is empty or missing (read_write mode only).
Result<std::unique_ptr<EventStore>> open_rocksdb_event_store(const std::string& path,
                                                             const RocksDbOptions& options = {});

// A RocksDB instance's memory by RocksDB's own accounting: its block cache
// (one, shared by its families), and its memtables and table readers summed
// over every family. Also used for the read models' store.
StoreMemory rocksdb_memory(rocksdb::DB& db);

// Table options shared by the log and the read models' store: indexes and
// filters kept in the block cache (within its bound), in partitions found
// through a small top-level index pinned with the table. Whole, an index or
// a filter grows with its file past what one of the cache's shards holds
// (RocksDB shards a cache in parts of at least 512 KiB), and is then read
// from the file again on every lookup: the soak's GETs fell to a third when
// the read models' filters were cached whole (session 23).
void cache_indexes_and_filters_in_partitions(rocksdb::BlockBasedTableOptions& table);

}  // namespace latchkey::eventstore
