// The event store: Latchkey's only source of truth.
//
// An append-only log of events with a dense global order (positions 1, 2, 3 …
// without gaps), partitioned into streams (one per aggregate) that each carry a
// version. Every stored event is chained to the one before it:
//   hash(p) = BLAKE2b-256(hash(p - 1) || canonical bytes of event p)
// with hash(0) = 32 zero bytes, so any alteration of a stored event is detected
// by verify() at the first altered position.
//
// This header is backend-neutral: no storage engine type appears here. The
// RocksDB implementation lives behind open_rocksdb_event_store().
//
// Thread safety: every method may be called from any thread concurrently.
// Errors are values (Result); nothing throws across this interface.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/result.hpp"
#include "latchkey/store_memory.hpp"

namespace latchkey::eventstore {

using Hash = std::array<std::uint8_t, 32>;

// Who caused an event: kind is "guardian", "staff", "platform" or "system";
// for staff, id is the API key id and name the key's name.
struct Actor {
  std::string kind;
  std::string id;
  std::string name;

  friend bool operator==(const Actor&, const Actor&) = default;
};

// What a writer supplies for one event. The store adds position, stream,
// stream version and hash.
struct EventData {
  std::string event_id;  // unique in the store; a UUID in practice
  std::string type;      // PascalCase, past tense: "ResetRequested"
  std::uint32_t schema_version = 1;
  std::int64_t recorded_at_us = 0;  // microseconds since the Unix epoch (from the injected Clock)
  std::string tenant;
  Actor actor;
  std::string correlation_id;
  std::string causation_id;
  std::string source_ip;  // empty when the command did not come over the network
  std::string payload;    // the event body, JSON text; never a secret in plain text

  friend bool operator==(const EventData&, const EventData&) = default;
};

struct RecordedEvent {
  std::uint64_t position = 0;
  std::string stream_id;
  std::uint64_t stream_version = 0;
  EventData data;
  Hash hash{};

  friend bool operator==(const RecordedEvent&, const RecordedEvent&) = default;
};

// The condition a stream must meet for an append to it to succeed.
class ExpectedVersion {
 public:
  static ExpectedVersion any() { return ExpectedVersion(kAny); }
  static ExpectedVersion no_stream() { return ExpectedVersion(0); }
  // The stream's last event has exactly this version (0 means: no stream yet).
  static ExpectedVersion exactly(std::uint64_t version) { return ExpectedVersion(version); }

  bool is_any() const { return value_ == kAny; }
  std::uint64_t version() const { return value_; }  // meaningful unless is_any()
  bool admits(std::uint64_t current) const { return is_any() || current == value_; }

 private:
  static constexpr std::uint64_t kAny = ~std::uint64_t{0};
  explicit ExpectedVersion(std::uint64_t v) : value_(v) {}
  std::uint64_t value_;
};

struct StreamWrite {
  std::string stream_id;  // 1..255 bytes, no NUL
  ExpectedVersion expected = ExpectedVersion::any();
  std::vector<EventData> events;  // at least one
};

// A message waiting for delivery (SPEC §4, transactional outbox). It is written
// in the same atomic write as the events but is not part of the immutable log:
// it is deleted once delivered and is never hashed, replayed or verified.
struct OutboxPut {
  std::string id;     // unique per message, 1..64 bytes
  std::string value;  // opaque to the store
};

struct OutboxEntry {
  std::string key;  // store-assigned, orders entries by the position of their append
  std::uint64_t position = 0;  // last position of the append that wrote it
  std::string id;
  std::string value;
};

struct AppendRequest {
  std::vector<StreamWrite> streams;  // at least one; a stream id at most once
  std::vector<OutboxPut> outbox;
  // Keys of outbox entries (OutboxEntry::key) this append settles: deleted in
  // the same atomic write as its events, so that what became of a message
  // and the end of its entry are durable together. Not applied when the
  // append turns out to be a duplicate (nothing is written then).
  std::vector<std::string> outbox_done;
};

struct AppendResult {
  std::uint64_t first_position = 0;
  std::uint64_t last_position = 0;
  std::vector<std::uint64_t> stream_versions;  // new version of each StreamWrite, in order
  bool duplicate = false;  // every event id was already stored with the same content
};

struct VerifyReport {
  std::uint64_t events = 0;       // events checked
  std::uint64_t head_position = 0;
  Hash head_hash{};
  bool ok = true;
  std::uint64_t first_bad_position = 0;  // when !ok
  std::string problem;                   // when !ok: what is wrong there
};

// Stable error codes of this interface.
inline constexpr const char* kWrongExpectedVersion = "wrong_expected_version";
inline constexpr const char* kEventIdConflict = "event_id_conflict";
inline constexpr const char* kInvalidAppend = "invalid_append";
inline constexpr const char* kStorageError = "storage_error";
inline constexpr const char* kCorruption = "corruption";
inline constexpr const char* kReadOnly = "read_only";

// Receives the outcome of append_async().
using AppendCallback = std::function<void(Result<AppendResult>)>;
// Receives the outcome of when_durable().
using DurableCallback = std::function<void(Result<void>)>;

// Called for each event by for_each_event(); return false to stop early.
using EventVisitor = std::function<bool(const RecordedEvent&)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends events to one or several streams atomically: all of them or none.
  // Each stream's expected version is checked first; any clash refuses the
  // whole request (kWrongExpectedVersion) and appends nothing.
  //
  // Idempotent on event ids: if every event id is already stored with the same
  // content (stream, type, schema version, tenant, payload), the first result
  // is returned with duplicate = true and nothing is appended; an existing id
  // with other content, or a mix of stored and new ids, is kEventIdConflict.
  //
  // Durable: returns only after the write-ahead log holding the events is
  // synced to disk. Concurrent callers share syncs (group commit).
  virtual Result<AppendResult> append(AppendRequest request) = 0;

  // The same append without blocking for durability: on_durable is called
  // exactly once, with the result once the events are durable or with the
  // refusal. It runs on the store's sync thread, or on the calling thread when
  // the answer is known at once; it must be quick and must not block (post the
  // work elsewhere), and it may call append_async again. A caller that
  // needs the positions at once (a command handler deciding its answer)
  // uses append_written and when_durable instead.
  virtual void append_async(AppendRequest request, AppendCallback on_durable) = 0;

  // The same append, returning as soon as its events are written (positions
  // assigned, visible to read_stream and read_last) instead of once they are
  // durable: for a caller that answers later, from when_durable() on the
  // result's last_position, and meanwhile goes on with other work. Refusals
  // come back as from append(); a duplicate's first append may not be
  // durable yet either.
  virtual Result<AppendResult> append_written(AppendRequest request) = 0;

  // Calls `then` exactly once: with ok once `position` (at most the last
  // position written) is durable, or with the failure if the store fails
  // before it is. At once on the calling thread when that is already known,
  // else on the store's sync thread: it must be quick and must not block.
  virtual void when_durable(std::uint64_t position, DurableCallback then) = 0;

  // Events from `from_position` (inclusive) in global order, at most
  // `max_count`, only up to the durable head.
  virtual Result<std::vector<RecordedEvent>> read_all(std::uint64_t from_position,
                                                      std::size_t max_count) = 0;

  // Visits events from `from_position` to `to_position` (inclusive; clamped to
  // the durable head) in global order without materialising a vector.
  virtual Result<void> for_each_event(std::uint64_t from_position, std::uint64_t to_position,
                                      const EventVisitor& visit) = 0;

  // A stream's events from `from_version` (inclusive), at most `max_count`.
  // Unlike read_all this also sees events whose append is still being synced:
  // a decision taken on them can only become durable after them (the log is
  // synced in order), so it is safe for command handlers; answers to clients
  // must come from read_all / subscriptions.
  virtual Result<std::vector<RecordedEvent>> read_stream(std::string_view stream_id,
                                                         std::uint64_t from_version,
                                                         std::size_t max_count) = 0;

  // The stream's last event, if the stream exists. Same visibility as read_stream.
  virtual Result<std::optional<RecordedEvent>> read_last(std::string_view stream_id) = 0;

  // The last durable position (0 for an empty store).
  virtual std::uint64_t head() const = 0;

  // Blocks until head() > after_position or the timeout passes; returns head().
  // Wakes on each durable append (no polling).
  virtual std::uint64_t wait_for(std::uint64_t after_position,
                                 std::chrono::milliseconds timeout) = 0;

  // Walks the whole log: decodes every event, checks that positions are dense
  // and that the hash chain holds. Names the first position that breaks.
  virtual Result<VerifyReport> verify() = 0;

  // Outbox entries in append order, starting after `after_key` ("" = first).
  virtual Result<std::vector<OutboxEntry>> read_outbox(std::string_view after_key,
                                                       std::size_t max_count) = 0;
  // Removes delivered (or dropped) outbox entries, all in one write. Removing
  // a missing key is ok.
  virtual Result<void> delete_outbox(const std::vector<std::string>& keys) = 0;

  // For a secondary instance: catch up with the primary's latest writes
  // (synced ones; possibly later ones too). Not concurrently with other calls
  // on the same instance. A no-op for the primary.
  virtual Result<void> refresh() = 0;

  // What the store holds in memory now (for /metrics); zeros if it cannot tell.
  virtual StoreMemory memory() const { return {}; }
};

// Follows the log from a position: each next() returns the events after the
// last one returned, waiting (without polling) up to `timeout` for new ones.
// Not thread-safe; one per reader.
class Subscription {
 public:
  Subscription(EventStore& store, std::uint64_t after_position)
      : store_(store), cursor_(after_position) {}

  Result<std::vector<RecordedEvent>> next(std::size_t max_count,
                                          std::chrono::milliseconds timeout);
  std::uint64_t cursor() const { return cursor_; }

 private:
  EventStore& store_;
  std::uint64_t cursor_;
};

}  // namespace latchkey::eventstore
