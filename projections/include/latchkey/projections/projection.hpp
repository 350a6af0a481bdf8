// A projection is a fold: (its rows, one event) → writes to its rows. It has
// a name (also its key prefix), a schema version, and a checkpoint kept by
// the runner; it reads nothing but its own rows and the events it is given.
//
// Projections keep the rows they touch in memory (Rows<T>) and hand over the
// changed ones when the runner ends a batch, so that a row touched by many
// events of a batch is parsed and written once. The hand-over is a copy that
// a committer thread serialises while the projection folds the next batch.
// Not thread-safe: the runner calls a projection from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

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
  // Drops cached rows if the cache has grown large. Only called when no
  // change taken from this projection is still waiting to be written.
  virtual void trim_cache() = 0;
  // How many rows it keeps in memory (the runner trims when this grows).
  virtual std::size_t cached_rows() const = 0;
  // Forgets everything in memory (after its rows were erased for a rebuild,
  // or after a failed commit).
  virtual void reset() = 0;
};

// Thrown by Rows when a stored row cannot be read or does not decode. The
// runner catches it around apply() and abandons the batch: a row must never
// be taken for missing (and overwritten) because reading it failed.
class ReadModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The rows a projection touched recently, parsed, with the changed ones
// marked for the next flush. Row must convert to and from JSON.
template <class Row>
class Rows {
 public:
  Rows(ReadModelDb& db, std::size_t max_cached = 200'000) : db_(db), max_cached_(max_cached) {}

  // The row, or nullptr when it does not exist.
  Row* find(const std::string& key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      std::optional<Row> row;
      auto stored = db_.get(key);
      if (!stored) throw ReadModelError("cannot read " + key + ": " + stored.error().message);
      if (stored->has_value()) {
        auto json = nlohmann::json::parse(**stored, nullptr, /*allow_exceptions=*/false);
        try {
          row = json.template get<Row>();
        } catch (const nlohmann::json::exception&) {
          throw ReadModelError("read-model row " + key + " does not decode");
        }
      }
      it = cache_.emplace(key, std::move(row)).first;
    }
    return it->second ? &*it->second : nullptr;
  }
  // The row for changing (created empty when missing); it will be written.
  Row& change(const std::string& key) {
    Row* row = find(key);
    dirty_.insert(key);
    if (row) return *row;
    return cache_[key].emplace();
  }
  // See Projection::take_changes().
  std::function<void(WriteSet&)> take_changes() {
    std::vector<std::pair<std::string, Row>> changed;
    changed.reserve(dirty_.size());
    for (const auto& key : dirty_) {
      const auto& row = cache_.at(key);
      if (row) changed.emplace_back(key, *row);
    }
    dirty_.clear();
    return [changed = std::move(changed)](WriteSet& writes) {
      for (const auto& [key, row] : changed) writes.put(key, nlohmann::json(row).dump());
    };
  }
  void trim_cache() {
    if (cache_.size() > max_cached_ && dirty_.empty()) cache_.clear();
  }
  std::size_t cached() const { return cache_.size(); }
  std::size_t max_cached() const { return max_cached_; }
  void reset() {
    cache_.clear();
    dirty_.clear();
  }

 private:
  ReadModelDb& db_;
  std::size_t max_cached_;
  std::unordered_map<std::string, std::optional<Row>> cache_;
  std::unordered_set<std::string> dirty_;
};

}  // namespace latchkey::projections
