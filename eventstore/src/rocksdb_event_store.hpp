// RocksDB implementation of EventStore (internal header).
//
// Column families (docs/ARCHITECTURE.md has the full layout):
//   events     BE64(position)                 -> canonical bytes || hash
//   streams    stream_id 0x00 BE64(version)   -> BE64(position)
//   event_ids  event_id                       -> BE64(position)
//   outbox     BE64(position) id              -> message (not part of the log)
//   meta       "head"                         -> BE64(position) || hash
//
// Group commit is a two-stage pipeline. One writer thread takes every queued
// append, checks expected versions and event ids, assigns positions and
// hashes, and writes the whole batch to RocksDB without syncing. One syncer
// thread repeatedly fsyncs the WAL; after each sync every append written
// before it started is durable and is acknowledged. While one sync runs the
// writer keeps writing, so each fsync covers every appender that arrived
// meanwhile instead of alternating between a full group and a group of one.
// The WAL is synced in order, so a crash keeps a prefix of the log: positions
// stay dense and nothing acknowledged is lost.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "latchkey/eventstore/rocksdb_event_store.hpp"

namespace latchkey::eventstore {

class RocksDbEventStore final : public EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(const std::string& path,
                                                  const RocksDbOptions& options);
  ~RocksDbEventStore() override;

  Result<AppendResult> append(AppendRequest request) override;
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
  Result<void> delete_outbox(std::string_view key) override;
  Result<void> refresh() override;

 private:
  enum Cf { kDefault, kEvents, kStreams, kEventIds, kOutbox, kMeta, kCfCount };

  struct Pending {
    AppendRequest request;
    std::promise<Result<AppendResult>> promise;
    std::optional<Result<AppendResult>> result;  // decided by the writer
    std::uint64_t durable_at = 0;                // position that must be synced first
  };

  // What the writer has staged in the batch being built.
  struct BatchState {
    std::uint64_t head = 0;
    Hash head_hash{};
    std::unordered_map<std::string, std::uint64_t> stream_versions;
    std::unordered_map<std::string, std::string> stored_by_id;  // event id -> stored value
  };

  RocksDbEventStore() = default;

  // Writer side (writer thread only).
  void writer_loop();
  void syncer_loop();
  Result<AppendResult> stage(const AppendRequest& request, rocksdb::WriteBatch& batch,
                             BatchState& state);
  std::optional<Result<AppendResult>> check_duplicate(const AppendRequest& request,
                                                      const BatchState& state);
  Result<std::uint64_t> current_version(const std::string& stream_id, const BatchState& state);
  void fail_store(const rocksdb::Status& status);

  Result<std::uint64_t> last_version_in_db(std::string_view stream_id);
  Result<std::optional<RecordedEvent>> event_at(std::uint64_t position);
  Result<void> load_head();

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }

  RocksDbOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // Appends waiting for the writer.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<std::unique_ptr<Pending>> queue_;
  bool stopping_ = false;

  // Written (not yet synced) appends waiting for the syncer.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<std::unique_ptr<Pending>> unsynced_;
  std::uint64_t written_ = 0;  // highest position written to RocksDB
  bool writer_done_ = false;

  // The durable head, and those waiting for it to move.
  std::atomic<std::uint64_t> durable_{0};
  std::mutex head_mu_;
  std::condition_variable head_cv_;

  // Writer-thread state: the head of the chain as written.
  std::uint64_t write_head_ = 0;
  Hash write_head_hash_{};

  std::atomic<bool> failed_{false};
  std::mutex failure_mu_;
  std::string failure_;

  std::thread writer_;
  std::thread syncer_;
};

}  // namespace latchkey::eventstore
