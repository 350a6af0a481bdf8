// RocksDB implementation of EventStore (internal header).
//
// Column families (docs/ARCHITECTURE.md has the full layout):
//   events     BE64(position)                 -> canonical bytes || hash
//   streams    stream_id 0x00 BE64(version)   -> BE64(position)
//   event_ids  event_id                       -> BE64(position)
//   outbox     BE64(position) id              -> message (not part of the log)
//   meta       "head"                         -> BE64(position) || hash
//
// Group commit (docs/ARCHITECTURE.md, "Durable appends"):
//  - an appender queues its request and, if no one holds the write lock,
//    becomes the leader: it stages every queued request (expected versions,
//    event ids, positions, hashes) into one WriteBatch and writes it to RocksDB
//    without syncing, its WAL record kept in RocksDB's buffer
//    (manual_wal_flush); the others sleep (flat combining, no hand-off thread);
//  - one syncer thread writes that buffer to the WAL file and fsyncs it
//    (FlushWAL(true)). Before each fsync it waits, at most
//    group_commit_window_us, until as many appends are written as the last
//    fsync carried, so one fsync serves every appender in flight;
//  - after the fsync it publishes the durable head and wakes exactly the
//    blocking appenders it made durable, each on a futex word of its own
//    thread (a broadcast woke every blocked thread on every fsync, most of
//    them only to sleep again), and runs the asynchronous completions.
// The WAL is synced in order, so a crash keeps a prefix of the log: positions
// stay dense and nothing acknowledged is lost.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "prepared_wal.hpp"

namespace latchkey::eventstore {

// The store's RocksDB options and column families as open() uses them, but
// for the read-write open's prepared-WAL file system (its `env`), which only
// a running store needs: tests open a closed store's files with RocksDB
// itself through this.
struct RocksDbLayout {
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
};
RocksDbLayout rocksdb_layout(const RocksDbOptions& options);

// Where a blocking appender's thread sleeps (rocksdb_append.cpp). Each thread
// holds one of its own; wakers are never freed (see thread_waker()), so a
// late or spurious wake-up is harmless: each sleeper checks its condition
// again.
struct Waker {
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> asleep{false};
  // Sleeps unless wake() ran since `seen` was read from word.
  void sleep(std::uint32_t seen);
  void wake();
};

class RocksDbEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(const std::string& path,
                                                  const RocksDbOptions& options);
  ~RocksDbEventStore() override;

  Result<AppendResult> append(AppendRequest request) override;
  void append_async(AppendRequest request, AppendCallback on_durable) override;
  Result<AppendResult> append_written(AppendRequest request) override;
  void when_durable(std::uint64_t position, DurableCallback then) override;
  Result<std::vector<RecordedEvent>> read_all(std::uint64_t from_position,
                                              std::size_t max_count) override;
  Result<void> for_each_event(std::uint64_t from_position, std::uint64_t to_position,
                              const EventVisitor& visit) override;
  Result<std::vector<RecordedEvent>> read_stream(std::string_view stream_id,
                                                 std::uint64_t from_version,
                                                 std::size_t max_count) override;
  Result<std::optional<RecordedEvent>> read_last(std::string_view stream_id) override;
  std::uint64_t head() const override { return durable_.load(std::memory_order_acquire); }
  std::uint64_t wait_for(std::uint64_t after_position,
                         std::chrono::milliseconds timeout) override;
  Result<VerifyReport> verify() override;
  Result<std::vector<OutboxEntry>> read_outbox(std::string_view after_key,
                                               std::size_t max_count) override;
  Result<void> delete_outbox(const std::vector<std::string>& keys) override;
  Result<void> refresh() override;
  StoreMemory memory() const override;

 private:
  enum Cf { kDefault, kEvents, kStreams, kEventIds, kOutbox, kMeta, kCfCount };
  friend RocksDbLayout rocksdb_layout(const RocksDbOptions& options);

  // One append in flight. A blocking append keeps it on the caller's stack:
  // the leader fills in result and durable_at, sets decided, and never
  // touches it again. An asynchronous one is owned by the store until its
  // on_durable has run.
  struct Pending {
    AppendRequest request;
    std::optional<Result<AppendResult>> result;
    std::uint64_t durable_at = 0;  // position that must be synced before answering
    AppendCallback on_durable;     // set for append_async
    bool until_durable = true;     // a blocking append: false for append_written
    std::atomic<bool> decided{false};
    Waker* waker = nullptr;        // set for a blocking append (its thread's)
  };

  // What the leader has staged in the batch being built.
  struct BatchState {
    std::uint64_t head = 0;
    Hash head_hash{};
    std::unordered_map<std::string, std::uint64_t> stream_versions;
    // Events staged in this batch, by id, for retries that land in the same
    // batch. Points into the pending requests, which outlive the batch.
    struct Staged {
      const std::string* stream_id;
      const EventData* data;
      std::uint64_t position;
      std::uint64_t stream_version;
    };
    std::unordered_map<std::string_view, Staged> staged_by_id;
  };

  RocksDbEventStore() = default;

  std::optional<Error> refuse_early(const AppendRequest& request) const;
  // append() and append_written(): on the caller's thread, leading or asleep.
  Result<AppendResult> append_blocking(AppendRequest request, bool until_durable);
  void enqueue(Pending* pending);
  void finish_async(std::vector<Pending*>& done);
  // Leader side (holding write_mu_). `own` is null for an asynchronous caller.
  void lead(Pending* own);
  void lead_rounds(Pending* own);
  void syncer_loop();
  template <class Done>
  void await(Done done);
  Result<AppendResult> stage(const AppendRequest& request, rocksdb::WriteBatch& batch,
                             BatchState& state);
  std::optional<Result<AppendResult>> check_duplicate(const AppendRequest& request,
                                                      const BatchState& state);
  Result<std::uint64_t> current_version(const std::string& stream_id, const BatchState& state);
  void fail_store(const rocksdb::Status& status);
  Error failure() const;

  Result<std::uint64_t> last_version_in_db(std::string_view stream_id);
  Result<std::optional<RecordedEvent>> event_at(std::uint64_t position);
  Result<void> load_head();

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }

  RocksDbOptions options_;
  std::string path_;
  // What a secondary needs to open itself, at open() and again at refresh().
  rocksdb::DBOptions secondary_options_;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors_;
  rocksdb::Status open_secondary(std::vector<rocksdb::ColumnFamilyHandle*>& handles, rocksdb::DB*& db);
  // Outlive db_ (declared before it): RocksDB writes through them until closed.
  std::shared_ptr<PreparedWalFileSystem> wal_fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // Appends waiting for a leader.
  std::mutex queue_mu_;
  std::vector<Pending*> queue_;
  std::atomic<bool> stopping_{false};

  // Held by the leader; guards write_head_, write_head_hash_ and round_batch_.
  std::mutex write_mu_;
  std::uint64_t write_head_ = 0;
  Hash write_head_hash_{};
  // The write batch of a round, emptied and reused round after round: built
  // afresh, a round's ~1.4 KB per append grew it by doubling into
  // allocations past 1 KiB, for each of which malloc first consolidated its
  // free lists, on the leader's thread while its group waited.
  rocksdb::WriteBatch round_batch_;
  // Last version of recently appended or read streams. The leader writes an
  // entry right after each batch is written and before any appender of that
  // batch is answered, so an entry is never behind what a reader could have
  // been told. A stream read from RocksDB is remembered only if absent, and
  // only if the cache was not cleared since before the read (clears_): a
  // read older than the leader's entry then never replaces it, and a leader
  // that wrote after the read overwrites it before answering anyone. A
  // stream without an entry is read from RocksDB. It saves the leader a seek
  // per append, and read_stream an iterator when a write model asks for
  // events past a stream's end (a command's usual catch-up, e.g. of its
  // tenant's stream, which is rarely written). Cleared when it grows past
  // options_.max_cached_streams.
  struct StreamIdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // read_stream looks up at most this many versions one by one when the
  // cache knows the stream's last version; a longer tail takes an iterator.
  static constexpr std::uint64_t kPointReadVersions = 16;
  // for_each_event reads stretches at least this long ahead, in reads of
  // kScanReadahead that bypass the block cache; shorter ones (a live tail,
  // one audit entry) read through the cache like point reads: a 2 MiB read
  // for one event made a filtered audit page take a minute.
  static constexpr std::uint64_t kScanAtLeast = 1024;
  // What a long scan (for_each_event, verify) reads ahead at a time. 256 KiB
  // (RocksDB's own ceiling for its automatic readahead) stays in the CPU's
  // cache between the read and the decoding; 2 MiB reads cost a 1M-event
  // scan ~30% more CPU (0.92-0.96 s against 0.65-0.67 s, alternating runs).
  static constexpr std::size_t kScanReadahead = 256u << 10;
  std::optional<std::uint64_t> cached_version(std::string_view stream_id) const;
  // A stream's last version as a read found it, with clears_ as it was
  // before the read began (read_write mode only: a secondary's log moves
  // under it without appends).
  void remember_version(std::string_view stream_id, std::uint64_t version, std::uint64_t clears);
  std::uint64_t version_clears() const;
  mutable std::mutex version_mu_;
  std::unordered_map<std::string, std::uint64_t, StreamIdHash, std::equal_to<>> version_cache_;
  std::uint64_t clears_ = 0;  // times version_cache_ was cleared; guarded by version_mu_

  // Written (not yet synced) appends, for the syncer.
  std::atomic<std::uint64_t> written_{0};    // highest position written to RocksDB
  std::atomic<std::size_t> unsynced_count_{0};  // appends written since the last fsync began
  std::atomic<std::size_t> expected_group_{1};  // appends the last fsync carried
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Pending*> completions_;  // asynchronous appends written, in position order

  // The durable head.
  std::atomic<std::uint64_t> durable_{0};
  // Blocking appenders written but not yet durable, in position order: the
  // syncer wakes each once an fsync covers its position. Guarded by sync_mu_.
  struct DurableWaiter {
    std::uint64_t durable_at;
    Waker* waker;
  };
  std::deque<DurableWaiter> durable_waiters_;
  // when_durable() callbacks for positions written and not yet durable, in
  // the order registered (nearly position order). Guarded by sync_mu_.
  struct DurableCall {
    std::uint64_t position;
    DurableCallback then;
  };
  std::vector<DurableCall> durable_calls_;
  // Takes the callbacks a durable head of `durable` (all of them when the
  // store failed) answers, under sync_mu_; run them after letting go.
  void take_durable_calls(std::uint64_t durable, std::vector<DurableCall>& out);
  void run_durable_calls(std::vector<DurableCall>& calls);
  // Ok once `position` is durable; the store's failure when it never will be.
  Result<void> durability_of(std::uint64_t position) const;
  // A leader that led long enough for asynchronous appends others queued
  // hands the rest to the syncer. Guarded by sync_mu_.
  bool lead_wanted_ = false;
  // Subscribers (wait_for) sleep on this instead, with a timeout.
  mutable std::mutex head_mu_;
  std::condition_variable head_cv_;

  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;

  std::thread syncer_;
};

}  // namespace latchkey::eventstore
