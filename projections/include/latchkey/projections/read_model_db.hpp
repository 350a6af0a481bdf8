// Where read models live: a key-value store of their own (RocksDB at
// DATA/readmodels by default), separate from the log, so that a read model
// can be dropped and rebuilt without touching a single event.
//
// Writes go through a WriteSet that is committed atomically, together with
// the checkpoints of the projections that produced it: after a crash a
// projection's rows and its checkpoint always agree.
//
// Thread safety: every method may be called concurrently; a WriteSet is used
// by one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/result.hpp"
#include "latchkey/store_memory.hpp"

namespace latchkey::projections {

class WriteSet {
 public:
  virtual ~WriteSet() = default;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase(std::string_view key) = 0;
  virtual std::size_t size() const = 0;
  // Readies what was written so far for the commit (sorts it) on the calling
  // thread, so that the commit, on another, does less. Writes may follow.
  virtual void prepare() {}
};

class ReadModelDb {
 public:
  virtual ~ReadModelDb() = default;

  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  // Visits keys with `prefix` in order, starting at `start` (inclusive; ""
  // means the prefix itself); stop by returning false.
  virtual Result<void> scan(std::string_view prefix, std::string_view start,
                            const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
  // The same, from the last key with `prefix` below `before` ("" = the end) backwards.
  virtual Result<void> scan_backwards(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;

  virtual std::unique_ptr<WriteSet> begin() = 0;
  virtual Result<void> commit(WriteSet& writes) = 0;
  // Commits several write sets as one atomic write. A key is written by one
  // set at most.
  virtual Result<void> commit(const std::vector<WriteSet*>& sets) = 0;
  // Removes every key with `prefix` (a projection being rebuilt).
  virtual Result<void> erase_prefix(std::string_view prefix) = 0;
  // The runner has applied all it was asked to. A store that put off work
  // while a backlog was being written (a rebuild) takes it up again.
  virtual void caught_up() {}
  // What the store holds in memory now (for /metrics); zeros if it cannot tell.
  virtual StoreMemory memory() const { return {}; }

  // A number that moves whenever a commit changes `key` (or a key sharing its
  // slot, or anything at all through erase_prefix or a bulk ingest), and
  // never otherwise goes back. Read it before reading the key: while it has
  // not moved, what was read is still what is stored. Lets a reader keep
  // what it derived from rows without reading them again.
  std::uint64_t generation(std::string_view key) const {
    return slots_[slot_of(key)].load(std::memory_order_acquire) + (epoch_.load(std::memory_order_acquire) << 40);
  }

 protected:
  // Implementations call these after a write is visible to readers.
  void changed(std::string_view key) { slots_[slot_of(key)].fetch_add(1, std::memory_order_release); }
  void changed_everything() { epoch_.fetch_add(1, std::memory_order_release); }

 private:
  static constexpr std::size_t kSlots = 4096;
  static std::size_t slot_of(std::string_view key) { return std::hash<std::string_view>{}(key) % kSlots; }
  std::array<std::atomic<std::uint64_t>, kSlots> slots_{};
  std::atomic<std::uint64_t> epoch_{0};
};

struct ReadModelDbOptions {
  bool read_only = false;
  std::size_t block_cache_bytes = 64u << 20;
  // Memtables of the read models, in total (two of half this at most).
  std::size_t memtable_budget_bytes = 32u << 20;
};

Result<std::unique_ptr<ReadModelDb>> open_read_model_db(const std::string& path,
                                                        const ReadModelDbOptions& options = {});

// Big-endian fixed-width numbers keep keys in numeric order.
std::string be64(std::uint64_t v);
std::uint64_t from_be64(std::string_view bytes);

}  // namespace latchkey::projections
