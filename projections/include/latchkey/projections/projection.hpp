// A projection is a fold: (its rows, one event) → writes to its rows. It has
// a name (also its key prefix), a schema version, and a checkpoint kept by
// the runner; it reads nothing but its own rows and the events it is given.
//
// Projections keep the rows they touch in memory (Rows<T>) and hand over the
// changed ones when the runner ends a batch, so that a row touched by many
// events of a batch is parsed and written once. The hand-over is the rows'
// text, written without a JSON document (row_json.hpp), that a committer
// thread puts into the batch while the projection folds the next one.
// Not thread-safe: the runner calls a projection from one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "latchkey/domain/events.hpp"
#include "latchkey/eventstore/event_store.hpp"
#include "latchkey/projections/read_model_db.hpp"

namespace latchkey::projections {

class Projection {
 public:
  virtual ~Projection() = default;
  // Unique, and the prefix of every key it owns ("login_state/…").
  virtual std::string_view name() const = 0;
  // Bump when the shape of the rows changes: the runner then rebuilds it.
  virtual std::uint32_t schema_version() const = 0;
  virtual void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
                     WriteSet& writes) = 0;
  // The rows apply() changed since the last call, as a job that writes them.
  // The job owns copies: it may run on another thread, after the projection
  // has gone on folding.
  virtual std::function<void(WriteSet&)> take_changes() = 0;
  // The same changes, as up to `parts` jobs of at least `rows_per_part`
  // rows that may run side by side, each into a WriteSet of its own: the end
  // of a long catch-up readies a projection's hundred thousand held rows on
  // two threads. Unlike take_changes(), the jobs read the rows where they
  // are (nothing is copied), so every one of them must have run before the
  // projection folds again or trims its cache. The sets are committed
  // together, so no job may write a key that apply() writes itself.
  virtual std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) {
    (void)parts;
    (void)rows_per_part;
    return {take_changes()};
  }
  // Drops its cached rows: the runner calls it when they have grown past
  // RunnerOptions::max_cached_rows, and only when no change taken from this
  // projection is still waiting to be written.
  virtual void trim_cache() = 0;
  // Drops the cached rows not touched since its previous call, and keeps the
  // others: the runner calls it every RunnerOptions::age_rows_every_events
  // while following the log, under the same condition as trim_cache().
  virtual void age_cache() = 0;
  // How many rows it keeps in memory (the runner trims when this grows).
  virtual std::size_t cached_rows() const = 0;
  // True when its rows change again and again (a guardian's, a family's):
  // during a long catch-up the runner may then keep its changes in memory
  // across batches and write each row once, rather than once per batch
  // (RunnerOptions::hold_while_behind). Append-only projections say false.
  virtual bool holds_rows() const { return false; }
  // Forgets everything in memory: after a failed commit (its stored rows
  // are as the last landed batch left them), or after its rows were erased
  // for a rebuild (then a row it has not written since does not exist, and
  // its caches need not ask the store until they are trimmed).
  enum class Stored { as_committed, erased };
  virtual void reset(Stored stored) = 0;
};

// Projection::take_changes_in_place() for a projection that keeps its rows
// in several Rows<T>: each one's jobs, in one list.
template <class... RowSets>
std::vector<std::function<void(WriteSet&)>> take_changes_in_place(std::size_t parts,
                                                                  std::size_t rows_per_part,
                                                                  RowSets&... row_sets) {
  std::vector<std::function<void(WriteSet&)>> jobs;
  auto add = [&](std::vector<std::function<void(WriteSet&)>> more) {
    for (auto& job : more) jobs.push_back(std::move(job));
  };
  (add(row_sets.take_changes_in_place(parts, rows_per_part)), ...);
  return jobs;
}

// Hands `garbage` to a thread of its own that destroys it (its last owner
// there): freeing a cache of a few hundred thousand rows takes a few hundred
// milliseconds that a catch-up need not wait for. In the order handed over.
void destroy_later(std::shared_ptr<void> garbage);
// Gives the memory freed so far back to the system (malloc_trim), after
// everything handed to destroy_later before it has been destroyed.
void release_memory_later();
// Waits until everything handed over so far has been done.
void wait_for_destroyed();

// Thrown by Rows when a stored row cannot be read or does not decode. The
// runner catches it around apply() and abandons the batch: a row must never
// be taken for missing (and overwritten) because reading it failed.
class ReadModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The rows a projection touched recently, parsed, with the changed ones
// marked for the next flush. Row must have, found by argument-dependent
// lookup, `void write_json(std::string&, const Row&)` and
// `bool read_json(std::string_view, Row&)` (rows.hpp declares them).
template <class Row>
class Rows {
 public:
  explicit Rows(ReadModelDb& db) : db_(db) {}

  // The row, or nullptr when it does not exist.
  Row* find(const std::string& key) {
    auto& row = entry(key).second.row;
    return row ? &*row : nullptr;
  }
  // The row for changing (created empty when missing); it will be written.
  Row& change(const std::string& key) {
    auto& cached = entry(key);
    if (!cached.second.dirty) {
      cached.second.dirty = true;
      dirty_.push_back(&cached);
    }
    auto& row = cached.second.row;
    if (!row) row.emplace();
    return *row;
  }
  // See Projection::take_changes().
  std::function<void(WriteSet&)> take_changes() {
    // One buffer holds every changed row's key and text, so the hand-over
    // costs a few allocations however many rows changed.
    struct Changed {
      std::string text;
      std::vector<std::pair<std::size_t, std::size_t>> sizes;  // key, value
    } changed;
    changed.sizes.reserve(dirty_.size());
    for (auto* cached : dirty_) {
      cached->second.dirty = false;
      const auto before = changed.text.size();
      changed.text += cached->first;
      write_json(changed.text, *cached->second.row);
      changed.sizes.emplace_back(cached->first.size(), changed.text.size() - before - cached->first.size());
    }
    dirty_.clear();
    return [changed = std::move(changed)](WriteSet& writes) {
      std::string_view text = changed.text;
      for (const auto& [key, value] : changed.sizes) {
        writes.put(text.substr(0, key), text.substr(key, value));
        text.remove_prefix(key + value);
      }
    };
  }
  // See Projection::take_changes_in_place(): the changed rows in up to
  // `parts` slices, each serialised by its job straight into its WriteSet.
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(std::size_t parts,
                                                                    std::size_t rows_per_part) {
    parts = std::clamp<std::size_t>(dirty_.size() / std::max<std::size_t>(rows_per_part, 1), 1,
                                    std::max<std::size_t>(parts, 1));
    auto dirty = std::make_shared<const std::vector<Cached*>>(std::move(dirty_));
    dirty_.clear();
    for (auto* cached : *dirty) cached->second.dirty = false;
    std::vector<std::function<void(WriteSet&)>> jobs;
    for (std::size_t k = 0; k < parts; ++k) {
      const std::size_t begin = dirty->size() * k / parts;
      const std::size_t end = dirty->size() * (k + 1) / parts;
      jobs.push_back([dirty, begin, end](WriteSet& writes) {
        std::string text;
        for (std::size_t i = begin; i < end; ++i) {
          const Cached& cached = *(*dirty)[i];
          text.clear();
          write_json(text, *cached.second.row);
          writes.put(cached.first, text);
        }
      });
    }
    return jobs;
  }
  // Drops the cached rows (the runner decides when: RunnerOptions::max_cached_rows).
  void trim_cache() {
    if (!dirty_.empty()) return;  // changes not yet taken stay
    drop(std::move(aged_));
    drop(std::move(cache_));
    complete_ = false;
  }
  // Drops the rows untouched since the last call (Projection::age_cache()):
  // the rows cached now are aged, and a row found there is taken back into
  // the cache when touched again.
  void age_cache() {
    if (!dirty_.empty()) return;  // changes not yet taken stay
    drop(std::move(aged_));
    aged_ = std::move(cache_);
    cache_ = Cache();
    complete_ = false;
  }
  // Rows cached, at most (a row taken back from the aged ones counts twice).
  std::size_t cached() const { return cache_.size() + aged_.size(); }
  void reset(Projection::Stored stored) {
    cache_ = Cache();
    aged_ = Cache();
    dirty_.clear();
    complete_ = stored == Projection::Stored::erased;
  }

 private:
  struct Entry {
    std::optional<Row> row;  // nullopt: not stored
    bool dirty = false;      // changed since the last take_changes()
  };
  using Cached = std::pair<const std::string, Entry>;

  // The cached entries by key: an open-addressing table of (hash, entry)
  // over entries that never move (a deque), so that dirty_ may point at them
  // until the cache is cleared. A lookup reads one slot, then the entry's
  // key; std::unordered_map read the bucket, the node before, and the hash
  // kept at the far end of a node as large as the row, a cache miss each,
  // and a rebuild looks up a guardian's rows a few million times.
  class Cache {
   public:
    std::size_t size() const { return entries_.size(); }
    Cached* find(const std::string& key, std::size_t hash) {
      if (slots_.empty()) return nullptr;
      for (std::size_t i = hash & mask();; i = (i + 1) & mask()) {
        const Slot& slot = slots_[i];
        if (slot.entry == nullptr) return nullptr;
        if (slot.hash == hash && slot.entry->first == key) return slot.entry;
      }
    }
    Cached& add(const std::string& key, std::size_t hash, Entry entry) {
      if ((entries_.size() + 1) * 2 > slots_.size()) grow();
      auto& added = entries_.emplace_back(key, std::move(entry));
      place(Slot{hash, &added});
      return added;
    }

   private:
    struct Slot {
      std::size_t hash = 0;
      Cached* entry = nullptr;  // nullptr: free
    };
    std::size_t mask() const { return slots_.size() - 1; }
    void place(Slot slot) {
      std::size_t i = slot.hash & mask();
      while (slots_[i].entry != nullptr) i = (i + 1) & mask();
      slots_[i] = slot;
    }
    void grow() {
      std::vector<Slot> old(std::max<std::size_t>(64, slots_.size() * 2));
      old.swap(slots_);
      for (const Slot& slot : old) {
        if (slot.entry != nullptr) place(slot);
      }
    }
    std::vector<Slot> slots_;  // a power of two, at most half full
    std::deque<Cached> entries_;
  };

  // The cached entry for `key`, read from the store on a miss.
  Cached& entry(const std::string& key) {
    const std::size_t hash = std::hash<std::string>{}(key);
    if (auto* cached = cache_.find(key, hash)) return *cached;
    if (auto* aged = aged_.find(key, hash)) {
      // Touched again: back into the cache. The aged copy is never found
      // again (the cache is looked into first) and goes with the others.
      return cache_.add(key, hash, std::move(aged->second));
    }
    Entry fresh;
    if (complete_) return cache_.add(key, hash, std::move(fresh));  // never written: not stored
    auto stored = db_.get(key);
    if (!stored) throw ReadModelError("cannot read " + key + ": " + stored.error().message);
    if (stored->has_value() && !read_json(**stored, fresh.row.emplace())) {
      throw ReadModelError("read-model row " + key + " does not decode");
    }
    return cache_.add(key, hash, std::move(fresh));
  }

  static void drop(Cache&& cache) {
    if (cache.size() > 0) destroy_later(std::make_shared<Cache>(std::move(cache)));
    cache = Cache();
  }

  ReadModelDb& db_;
  Cache cache_;
  Cache aged_;  // rows untouched since the last age_cache(); never dirty
  std::vector<Cached*> dirty_;  // in the order they were first changed (all in cache_)
  // Every stored row is in cache_: the rows were erased, and every row
  // written since went through this cache, which has not been trimmed since.
  // A rebuild then reads nothing back from the store.
  bool complete_ = false;
};

}  // namespace latchkey::projections
