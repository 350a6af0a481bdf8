// The append pipeline of the RocksDB event store: validate → stage (writer
// thread) → write unsynced → fsync (syncer thread) → acknowledge.
// See rocksdb_event_store.hpp for why it is two stages.
#include <rocksdb/write_batch.h>

#include <unordered_set>

#include "record_codec.hpp"
#include "rocksdb_event_store.hpp"

namespace latchkey::eventstore {
namespace {

constexpr std::size_t kMaxStreamIdBytes = 255;
constexpr std::size_t kMaxEventIdBytes = 128;
constexpr std::size_t kMaxOutboxIdBytes = 64;

Error invalid(std::string message) { return make_error(kInvalidAppend, std::move(message)); }

// Checks the request's shape; cheap, runs on the caller's thread.
Result<void> validate(const AppendRequest& request) {
  if (request.streams.empty()) return invalid("an append needs at least one stream");
  std::unordered_set<std::string_view> streams, ids, outbox_ids;
  for (const auto& sw : request.streams) {
    if (sw.stream_id.empty() || sw.stream_id.size() > kMaxStreamIdBytes ||
        sw.stream_id.find('\0') != std::string::npos) {
      return invalid("a stream id must be 1 to 255 bytes without NUL");
    }
    if (!streams.insert(sw.stream_id).second) {
      return invalid("stream " + sw.stream_id + " appears twice in one append");
    }
    if (sw.events.empty()) return invalid("stream " + sw.stream_id + " has no events");
    for (const auto& e : sw.events) {
      if (e.event_id.empty() || e.event_id.size() > kMaxEventIdBytes) {
        return invalid("an event id must be 1 to 128 bytes");
      }
      if (!ids.insert(e.event_id).second) {
        return invalid("event id " + e.event_id + " appears twice in one append");
      }
      if (e.type.empty()) return invalid("an event needs a type");
    }
  }
  for (const auto& o : request.outbox) {
    if (o.id.empty() || o.id.size() > kMaxOutboxIdBytes) {
      return invalid("an outbox id must be 1 to 64 bytes");
    }
    if (!outbox_ids.insert(o.id).second) return invalid("outbox id " + o.id + " appears twice");
  }
  return {};
}

bool same_content(const RecordedEvent& stored, const std::string& stream_id, const EventData& e) {
  return stored.stream_id == stream_id && stored.data.type == e.type &&
         stored.data.schema_version == e.schema_version && stored.data.tenant == e.tenant &&
         stored.data.payload == e.payload;
}

std::string position_key(std::uint64_t position) {
  std::string k;
  codec::put_be64(k, position);
  return k;
}

}  // namespace

Result<AppendResult> RocksDbEventStore::append(AppendRequest request) {
  if (options_.mode != RocksDbOptions::Mode::read_write) {
    return make_error(kReadOnly, "the store is open read-only");
  }
  if (auto v = validate(request); !v.ok()) return v.error();
  if (failed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(failure_mu_);
    return make_error(kStorageError, "the store has failed and refuses appends: " + failure_);
  }
  auto pending = std::make_unique<Pending>();
  pending->request = std::move(request);
  auto answer = pending->promise.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return make_error(kStorageError, "the store is closing");
    queue_.push_back(std::move(pending));
  }
  queue_cv_.notify_one();
  return answer.get();
}

void RocksDbEventStore::fail_store(const rocksdb::Status& status) {
  std::lock_guard lock(failure_mu_);
  if (!failed_.exchange(true)) failure_ = status.ToString();
}

void RocksDbEventStore::writer_loop() {
  rocksdb::WriteOptions write_options;
  write_options.sync = false;  // the syncer makes it durable; see the header
  for (;;) {
    std::vector<std::unique_ptr<Pending>> batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued was handled
      batch.swap(queue_);
    }

    rocksdb::WriteBatch write_batch;
    BatchState state;
    state.head = write_head_;
    state.head_hash = write_head_hash_;
    std::vector<std::unique_ptr<Pending>> to_sync;
    std::vector<std::unique_ptr<Pending>> answered;
    for (auto& p : batch) {
      if (failed_.load(std::memory_order_acquire)) {
        p->result = make_error(kStorageError, "the store has failed and refuses appends");
      } else if (auto duplicate = check_duplicate(p->request, state)) {
        p->result = std::move(*duplicate);
      } else {
        p->result = stage(p->request, write_batch, state);
      }
      if (p->result->ok()) {
        p->durable_at = (*p->result)->last_position;
        to_sync.push_back(std::move(p));
      } else {
        answered.push_back(std::move(p));
      }
    }

    if (state.head != write_head_) {
      std::string head_value = position_key(state.head);
      head_value.append(reinterpret_cast<const char*>(state.head_hash.data()),
                        state.head_hash.size());
      write_batch.Put(cf(kMeta), "head", head_value);
      auto s = db_->Write(write_options, &write_batch);
      if (s.ok()) {
        write_head_ = state.head;
        write_head_hash_ = state.head_hash;
      } else {
        fail_store(s);
        for (auto& p : to_sync) {
          p->result = make_error(kStorageError, "the append could not be written: " + s.ToString());
          answered.push_back(std::move(p));
        }
        to_sync.clear();
      }
    }

    for (auto& p : answered) p->promise.set_value(std::move(*p->result));
    if (!to_sync.empty()) {
      {
        std::lock_guard lock(sync_mu_);
        for (auto& p : to_sync) unsynced_.push_back(std::move(p));
        written_ = write_head_;
      }
      sync_cv_.notify_one();
    }
  }
  {
    std::lock_guard lock(sync_mu_);
    writer_done_ = true;
  }
  sync_cv_.notify_one();
}

void RocksDbEventStore::syncer_loop() {
  for (;;) {
    std::deque<std::unique_ptr<Pending>> syncing;
    std::uint64_t target = 0;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return writer_done_ || !unsynced_.empty(); });
      if (unsynced_.empty()) break;  // the writer is done and everything is answered
      syncing.swap(unsynced_);
      target = written_;
    }
    if (target > durable_.load(std::memory_order_acquire)) {
      rocksdb::Status s = options_.sync ? db_->SyncWAL() : rocksdb::Status::OK();
      if (!s.ok()) {
        // Whether the events reached the disk is unknown; refuse every further
        // append so that no decision is taken on top of them.
        fail_store(s);
        for (auto& p : syncing) {
          p->promise.set_value(
              make_error(kStorageError, "the write-ahead log could not be synced: " + s.ToString()));
        }
        continue;
      }
      {
        std::lock_guard lock(head_mu_);
        durable_.store(target, std::memory_order_release);
      }
      head_cv_.notify_all();
    }
    for (auto& p : syncing) p->promise.set_value(std::move(*p->result));
  }
}

Result<std::uint64_t> RocksDbEventStore::current_version(const std::string& stream_id,
                                                         const BatchState& state) {
  if (auto it = state.stream_versions.find(stream_id); it != state.stream_versions.end()) {
    return it->second;
  }
  return last_version_in_db(stream_id);
}

std::optional<Result<AppendResult>> RocksDbEventStore::check_duplicate(
    const AppendRequest& request, const BatchState& state) {
  std::size_t total = 0;
  std::size_t found = 0;
  AppendResult result;
  result.duplicate = true;
  result.first_position = ~std::uint64_t{0};
  std::string position_value;
  for (const auto& sw : request.streams) {
    std::uint64_t stream_version = 0;
    for (const auto& e : sw.events) {
      ++total;
      Result<RecordedEvent> stored = make_error(kCorruption, "");
      if (auto it = state.stored_by_id.find(e.event_id); it != state.stored_by_id.end()) {
        stored = codec::decode_stored(it->second);
      } else {
        auto s = db_->Get(rocksdb::ReadOptions(), cf(kEventIds), e.event_id, &position_value);
        if (s.IsNotFound()) continue;
        if (!s.ok()) return make_error(kStorageError, "cannot look up an event id: " + s.ToString());
        auto at = event_at(codec::get_be64(position_value));
        if (!at.ok()) return at.error();
        if (!at->has_value()) return make_error(kCorruption, "an event id points at no event");
        stored = std::move(**at);
      }
      if (!stored.ok()) return stored.error();
      if (!same_content(*stored, sw.stream_id, e)) {
        return make_error(kEventIdConflict,
                          "event id " + e.event_id + " is already stored with other content");
      }
      ++found;
      result.first_position = std::min(result.first_position, stored->position);
      result.last_position = std::max(result.last_position, stored->position);
      stream_version = std::max(stream_version, stored->stream_version);
    }
    result.stream_versions.push_back(stream_version);
  }
  if (found == 0) return std::nullopt;
  if (found != total) {
    return make_error(kEventIdConflict, "some of the append's event ids are already stored");
  }
  return result;
}

Result<AppendResult> RocksDbEventStore::stage(const AppendRequest& request,
                                              rocksdb::WriteBatch& batch, BatchState& state) {
  std::vector<std::uint64_t> versions;
  versions.reserve(request.streams.size());
  for (const auto& sw : request.streams) {
    auto current = current_version(sw.stream_id, state);
    if (!current.ok()) return current.error();
    if (!sw.expected.admits(*current)) {
      Error e = make_error(kWrongExpectedVersion,
                           "stream " + sw.stream_id + " is at version " + std::to_string(*current) +
                               ", not " + std::to_string(sw.expected.version()));
      e.field = sw.stream_id;
      return e;
    }
    versions.push_back(*current);
  }

  AppendResult result;
  result.first_position = state.head + 1;
  RecordedEvent record;
  std::string stored;
  std::string stream_index_key;
  for (std::size_t i = 0; i < request.streams.size(); ++i) {
    const StreamWrite& sw = request.streams[i];
    std::uint64_t version = versions[i];
    for (const EventData& e : sw.events) {
      record.position = ++state.head;
      record.stream_id = sw.stream_id;
      record.stream_version = ++version;
      record.data = e;
      stored.clear();
      codec::encode_canonical(record, stored);
      state.head_hash = codec::chain_hash(state.head_hash, stored);
      stored.append(reinterpret_cast<const char*>(state.head_hash.data()), state.head_hash.size());

      std::string pos = position_key(record.position);
      stream_index_key.assign(sw.stream_id);
      stream_index_key.push_back('\0');
      codec::put_be64(stream_index_key, version);
      batch.Put(cf(kEvents), pos, stored);
      batch.Put(cf(kStreams), stream_index_key, pos);
      batch.Put(cf(kEventIds), e.event_id, pos);
      state.stored_by_id[e.event_id] = stored;
    }
    state.stream_versions[sw.stream_id] = version;
    result.stream_versions.push_back(version);
  }
  result.last_position = state.head;
  for (const auto& o : request.outbox) {
    std::string key = position_key(result.last_position);
    key.append(o.id);
    batch.Put(cf(kOutbox), key, o.value);
  }
  return result;
}

}  // namespace latchkey::eventstore
