// Feeds events, in global order, to every projection and commits each batch
// of read-model writes together with the checkpoints of the projections that
// wrote them in one atomic write. A crash therefore never applies an event
// twice or skips one: on restart each projection resumes after its own
// checkpoint. In a long catch-up, projections whose rows change again and
// again hold their writes (and checkpoint) across batches and commit them at
// the end (RunnerOptions::hold_after_events).
//
// Threads share the work of a long catch-up: one reads and decodes the log
// ahead of the folds; the calling thread and a second one fold it, each for
// its own projections (every other one); while the runner's committer thread
// writes batch k, they fold batch k+1. Rows cached in memory are only
// dropped when no batch is in flight, so a fold never reads a row older than
// one still waiting to be written, and they are freed on a thread of their
// own (destroy_later). At the end, what the projections held is serialised
// by the calling thread and a helper side by side, each projection's as a
// write of its own, once the batch before has landed.
//
// At open() a projection whose stored schema version differs from its code's
// is erased and rebuilt from the log; the others only catch up the tail.
//
// Thread safety: start()/stop()/rebuild() from one controlling thread;
// applied() and wait_for() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "latchkey/eventstore/event_store.hpp"
#include "latchkey/projections/projection.hpp"
#include "latchkey/projections/read_model_db.hpp"

namespace latchkey::projections {

struct RunnerOptions {
  std::size_t max_batch_events = 50'000;  // events per atomic read-model write (at most)
  std::size_t max_cached_rows = 400'000;  // per projection, before its cache is trimmed
  // A catch-up that folds at least this many events (a rebuild, a long tail
  // at start-up) ends by dropping every cached row: the caches then hold most
  // of the read models (about 400 MiB at 1M events and 100k guardians), while
  // following the log needs only the rows of guardians active now, read back
  // on demand.
  std::uint64_t drop_caches_after_events = 100'000;
  // While following the log, every this many events the projections' caches
  // age (Projection::age_cache): the rows untouched since the previous time
  // are dropped. A running server then keeps the rows of the guardians
  // active lately, not every row it touched since it started, up to
  // max_cached_rows (about 850 bytes a row).
  std::uint64_t age_rows_every_events = 50'000;
  // A catch-up of at least this many events (a rebuild, a long tail at
  // start-up) lets projections whose rows change again and again
  // (Projection::holds_rows) keep their changes in memory across batches and
  // commit them once, with their checkpoint, at the end: a guardian's row is
  // then written once rather than once per batch (a 1M-event rebuild wrote
  // ~790,000 rows for 100,000 guardians). A holding projection still commits
  // early when its cache reaches max_cached_rows, or when the pending writes
  // of all of them together (session-token rows, name-index entries,
  // acceptances; ~200 bytes each) reach max_held_writes: then those holding
  // the most commit first. Append-only projections (the audit log) commit
  // every batch. 0 turns holding off.
  std::uint64_t hold_after_events = 100'000;
  std::size_t max_held_writes = 1'000'000;
  // What was held is readied (serialised and sorted) at the end by two
  // threads, a projection's changed rows in parts of at least this many.
  std::size_t rows_per_part_at_least = 4'096;
  std::chrono::milliseconds idle_wait{500};  // how long the follower waits for new events per round
};

class Committer;

struct Checkpoint {
  std::uint64_t position = 0;
  std::uint32_t schema_version = 0;
};

class ProjectionRunner {
 public:
  ProjectionRunner(eventstore::EventStore& store, ReadModelDb& db,
                   std::vector<std::unique_ptr<Projection>> projections, RunnerOptions options = {});
  ~ProjectionRunner();

  // Reads the checkpoints; rebuilds projections whose schema version changed.
  Result<void> open();
  // Applies every durable event up to `until` (0 = the head now) on the
  // calling thread. `progress(applied, target)` is called after each batch.
  Result<void> catch_up(std::uint64_t until = 0,
                        const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});
  // Follows the log on a thread of its own until stop().
  void start();
  void stop();
  // Erases one projection's rows (every one for "") and its checkpoint, so
  // the next catch_up rebuilds it from the first event. Only while stopped.
  Result<void> reset(std::string_view name = "");

  // Every projection has applied every event up to here.
  std::uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  // Waits until applied() >= position or the timeout passes; true if reached.
  bool wait_for(std::uint64_t position, std::chrono::milliseconds timeout);
  Checkpoint checkpoint(std::string_view name) const;
  // Rows held in the projections' caches, all together. Only while stopped.
  std::size_t cached_rows() const;
  // The same as of the runner's last checkpoint or trim, from any thread (for /metrics).
  std::size_t cached_rows_seen() const { return cached_rows_seen_.load(std::memory_order_relaxed); }
  // Writes folded but not yet handed to the committer, all projections
  // together (from the runner's own thread, or while it is stopped).
  std::size_t held_writes() const;
  // The last error of the follower thread (it retries after an error).
  std::string last_error() const;

 private:
  struct Slot {
    std::unique_ptr<Projection> projection;
    Checkpoint checkpoint;     // committed
    std::uint64_t folded = 0;  // applied in memory (≥ checkpoint.position)
    std::unique_ptr<WriteSet> writes;  // what apply() wrote since its last commit
  };
  // Folds events (folded, to] into memory; returns the last position folded.
  Result<std::uint64_t> fold(std::uint64_t to);
  void forget_uncommitted();
  void publish_applied();
  // The position every projection has folded up to (all ones when none).
  std::uint64_t lowest_folded() const;
  void follow();

  eventstore::EventStore& store_;
  ReadModelDb& db_;
  std::vector<Slot> slots_;
  RunnerOptions options_;
  std::atomic<std::uint64_t> applied_{0};
  std::atomic<std::size_t> cached_rows_seen_{0};
  std::uint64_t aged_at_ = 0;  // lowest_folded() when the caches last aged
  mutable std::mutex mutex_;
  std::condition_variable advanced_;
  std::string last_error_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unique_ptr<Committer> committer_;
};

std::string checkpoint_key(std::string_view projection_name);

}  // namespace latchkey::projections
