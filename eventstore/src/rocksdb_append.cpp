// The append path of the RocksDB event store: validate (caller) → stage and
// write unsynced (leader) → fsync (syncer thread) → answer (caller).
// rocksdb_event_store.hpp explains the group commit.
#include <linux/futex.h>
#include <rocksdb/write_batch.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <iterator>
#include <optional>
#include <utility>

#include "record_codec.hpp"
#include "rocksdb_event_store.hpp"

namespace latchkey::eventstore {
namespace {

constexpr std::size_t kMaxStreamIdBytes = 255;
constexpr std::size_t kMaxEventIdBytes = 128;
constexpr std::size_t kMaxOutboxIdBytes = 64;

// Set while the sync thread runs completions: appends they issue are only
// queued, and the sync thread then writes them all as one batch.
thread_local bool t_running_completions = false;
// Set on the syncer thread.
thread_local bool t_is_syncer = false;

Error invalid(std::string message) { return make_error(kInvalidAppend, std::move(message)); }

// The calling thread's Waker. Wakers are never freed: wakes are made after
// the store's locks are let go, so one can land after its appender returned,
// even after its thread exited; by then the Waker is back in the pool or
// lent to another thread, for which the wake is a spurious one.
Waker& thread_waker() {
  struct Pool {
    std::mutex mu;
    std::vector<Waker*> free;
  };
  static Pool* const pool = new Pool;  // never destroyed: threads may exit after static destructors
  struct Lease {
    Waker* waker = nullptr;
    Lease() {
      std::lock_guard lock(pool->mu);
      if (pool->free.empty()) {
        waker = new Waker;
      } else {
        waker = pool->free.back();
        pool->free.pop_back();
      }
    }
    ~Lease() {
      std::lock_guard lock(pool->mu);
      pool->free.push_back(waker);
    }
  };
  thread_local Lease lease;
  return *lease.waker;
}

// The first value that occurs twice in `values` (sorted in place), if any.
std::optional<std::string_view> first_repeat(std::vector<std::string_view>& values) {
  std::sort(values.begin(), values.end());
  auto it = std::adjacent_find(values.begin(), values.end());
  if (it == values.end()) return std::nullopt;
  return *it;
}

// Checks the request's shape; cheap, runs on the caller's thread.
Result<void> validate(const AppendRequest& request) {
  if (request.streams.empty()) return invalid("an append needs at least one stream");
  std::vector<std::string_view> streams, ids, outbox_ids;
  streams.reserve(request.streams.size());
  for (const auto& sw : request.streams) {
    if (sw.stream_id.empty() || sw.stream_id.size() > kMaxStreamIdBytes ||
        sw.stream_id.find('\0') != std::string::npos) {
      return invalid("a stream id must be 1 to 255 bytes without NUL");
    }
    streams.push_back(sw.stream_id);
    if (sw.events.empty()) return invalid("stream " + sw.stream_id + " has no events");
    for (const auto& e : sw.events) {
      if (e.event_id.empty() || e.event_id.size() > kMaxEventIdBytes) {
        return invalid("an event id must be 1 to 128 bytes");
      }
      if (e.type.empty()) return invalid("an event needs a type");
      ids.push_back(e.event_id);
    }
  }
  if (auto twice = first_repeat(streams)) {
    return invalid("stream " + std::string(*twice) + " appears twice in one append");
  }
  if (auto twice = first_repeat(ids)) {
    return invalid("event id " + std::string(*twice) + " appears twice in one append");
  }
  for (const auto& o : request.outbox) {
    if (o.id.empty() || o.id.size() > kMaxOutboxIdBytes) {
      return invalid("an outbox id must be 1 to 64 bytes");
    }
    outbox_ids.push_back(o.id);
  }
  if (auto twice = first_repeat(outbox_ids)) {
    return invalid("outbox id " + std::string(*twice) + " appears twice");
  }
  for (const auto& key : request.outbox_done) {
    if (key.size() <= 8 || key.size() > 8 + kMaxOutboxIdBytes) {
      return invalid("an outbox entry's key is its 8-byte position and its id");
    }
  }
  return {};
}

bool same_content(const RecordedEvent& stored, const std::string& stream_id, const EventData& e) {
  return stored.stream_id == stream_id && stored.data.type == e.type &&
         stored.data.schema_version == e.schema_version && stored.data.tenant == e.tenant &&
         stored.data.payload == e.payload;
}

}  // namespace

std::optional<Error> RocksDbEventStore::refuse_early(const AppendRequest& request) const {
  if (options_.mode != RocksDbOptions::Mode::read_write) {
    return make_error(kReadOnly, "the store is open read-only");
  }
  if (auto v = validate(request); !v.ok()) return v.error();
  if (failed_.load(std::memory_order_acquire)) return failure();
  if (stopping_.load(std::memory_order_acquire)) {
    return make_error(kStorageError, "the store is closing");
  }
  return std::nullopt;
}

Result<AppendResult> RocksDbEventStore::append(AppendRequest request) {
  return append_blocking(std::move(request), true);
}

Result<AppendResult> RocksDbEventStore::append_written(AppendRequest request) {
  return append_blocking(std::move(request), false);
}

Result<AppendResult> RocksDbEventStore::append_blocking(AppendRequest request, bool until_durable) {
  if (auto refused = refuse_early(request)) return *refused;
  Waker& waker = thread_waker();
  Pending own;
  own.request = std::move(request);
  own.waker = &waker;
  own.until_durable = until_durable;
  enqueue(&own);
  // Lead when nobody else does; otherwise sleep until woken: by a leader that
  // refused the append or found it already durable, by the syncer once it is
  // durable, or by a departing leader while it is still queued. The order
  // "queue, then try to lead" here and "unlock, then look at the queue" in
  // lead() guarantees that a queued request always finds a leader.
  while (!own.decided.load(std::memory_order_acquire)) {
    std::uint32_t seen = waker.word.load();
    if (write_mu_.try_lock()) {
      lead(&own);
      continue;
    }
    if (own.decided.load(std::memory_order_acquire)) break;
    waker.sleep(seen);
  }
  Result<AppendResult> result = std::move(*own.result);
  if (!result.ok() || !until_durable) return result;
  for (;;) {
    std::uint32_t seen = waker.word.load();
    if (durable_.load(std::memory_order_acquire) >= own.durable_at) return result;
    if (failed_.load(std::memory_order_acquire)) return failure();
    waker.sleep(seen);
  }
}

void RocksDbEventStore::append_async(AppendRequest request, AppendCallback on_durable) {
  if (auto refused = refuse_early(request)) {
    on_durable(*refused);
    return;
  }
  auto* pending = new Pending();  // owned by the store until on_durable has run
  pending->request = std::move(request);
  pending->on_durable = std::move(on_durable);
  enqueue(pending);
  if (!t_running_completions && write_mu_.try_lock()) lead(nullptr);
}

void RocksDbEventStore::when_durable(std::uint64_t position, DurableCallback then) {
  {
    std::lock_guard lock(sync_mu_);
    // fail_store() sets failed_ before it takes sync_mu_ to answer what is
    // registered here: a callback is either seen by it or sees failed_.
    if (position > durable_.load(std::memory_order_acquire) &&
        !failed_.load(std::memory_order_acquire)) {
      durable_calls_.push_back({position, std::move(then)});
      return;
    }
  }
  then(durability_of(position));
}

Result<void> RocksDbEventStore::durability_of(std::uint64_t position) const {
  if (position <= durable_.load(std::memory_order_acquire)) return {};
  return failure();
}

void RocksDbEventStore::take_durable_calls(std::uint64_t durable, std::vector<DurableCall>& out) {
  const bool all = failed_.load(std::memory_order_acquire);
  // Those still waiting stay in front, in their order; the answered go to `out`.
  auto answered = std::stable_partition(
      durable_calls_.begin(), durable_calls_.end(),
      [&](const DurableCall& c) { return !all && c.position > durable; });
  std::move(answered, durable_calls_.end(), std::back_inserter(out));
  durable_calls_.erase(answered, durable_calls_.end());
}

void RocksDbEventStore::run_durable_calls(std::vector<DurableCall>& calls) {
  for (auto& call : calls) call.then(durability_of(call.position));
  calls.clear();
}

void RocksDbEventStore::enqueue(Pending* pending) {
  std::lock_guard lock(queue_mu_);
  queue_.push_back(pending);
}

void RocksDbEventStore::fail_store(const rocksdb::Status& status) {
  {
    std::lock_guard lock(failure_mu_);
    if (!failed_.exchange(true)) failure_ = status.ToString();
  }
  // Blocking appenders waiting for an fsync that will not come. A leader
  // publishing after this point sees failed_ (set before sync_mu_ is taken
  // here) and wakes its appenders itself.
  std::deque<DurableWaiter> waiting;
  std::vector<DurableCall> calls;
  {
    std::lock_guard lock(sync_mu_);
    waiting.swap(durable_waiters_);
    take_durable_calls(durable_.load(std::memory_order_acquire), calls);
  }
  for (const auto& w : waiting) w.waker->wake();
  run_durable_calls(calls);
}

Error RocksDbEventStore::failure() const {
  std::lock_guard lock(failure_mu_);
  return make_error(kStorageError, "the store has failed and refuses appends: " + failure_);
}

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

static void futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), op, value, nullptr, nullptr, 0);
}

// Both sides are sequentially consistent: either the waker sees the sleeper
// asleep, or the sleeper's futex sees the word moved and returns at once.
// They use the futex directly: libstdc++'s atomic wait first spins on
// sched_yield, which cost about 5% of the server's CPU under load.
void Waker::sleep(std::uint32_t seen) {
  asleep.store(true);
  if (word.load() == seen) futex(word, FUTEX_WAIT_PRIVATE, seen);
  asleep.store(false);
}

void Waker::wake() {
  word.fetch_add(1);
  if (asleep.load()) futex(word, FUTEX_WAKE_PRIVATE, 1);
}

void RocksDbEventStore::finish_async(std::vector<Pending*>& done) {
  for (Pending* p : done) {
    std::unique_ptr<Pending> owned(p);
    owned->on_durable(failed_.load(std::memory_order_acquire) && owned->result->ok() &&
                              durable_.load(std::memory_order_acquire) < owned->durable_at
                          ? Result<AppendResult>(failure())
                          : std::move(*owned->result));
  }
  done.clear();
}

// Called with write_mu_ held, which it keeps. Stages and writes everything
// queued, round after round, until the queue is empty or, once the leader's
// own request is decided, a few rounds have passed (so that a steady stream
// of arrivals cannot hold one appender forever).
void RocksDbEventStore::lead_rounds(Pending* own) {
  constexpr int kRoundsAfterOwn = 4;
  rocksdb::WriteOptions write_options;
  write_options.sync = false;  // the syncer makes it durable
  int rounds_after_own = 0;
  std::vector<Pending*> batch;
  std::vector<Pending*> answer_now;      // asynchronous, refused or already durable
  std::vector<Pending*> answer_durable;  // asynchronous, after the fsync
  std::vector<Waker*> wake_now;
  for (;;) {
    batch.clear();
    {
      std::lock_guard lock(queue_mu_);
      batch.swap(queue_);
    }
    if (batch.empty()) break;

    // Kept for its capacity, unless a large append grew it past what a round
    // usually needs.
    constexpr std::size_t kKeepBatchBytes = 1u << 20;
    if (round_batch_.Data().capacity() > kKeepBatchBytes) {
      round_batch_ = rocksdb::WriteBatch();
    } else {
      round_batch_.Clear();
    }
    rocksdb::WriteBatch& write_batch = round_batch_;
    BatchState state;
    state.head = write_head_;
    state.head_hash = write_head_hash_;
    for (Pending* p : batch) {
      if (failed_.load(std::memory_order_acquire)) {
        p->result = failure();
      } else if (auto duplicate = check_duplicate(p->request, state)) {
        p->result = std::move(*duplicate);
      } else {
        p->result = stage(p->request, write_batch, state);
      }
      if (p->result->ok()) p->durable_at = (*p->result)->last_position;
    }

    bool wrote = false;
    if (state.head != write_head_) {
      std::string head_value;
      codec::put_be64(head_value, state.head);
      head_value.append(reinterpret_cast<const char*>(state.head_hash.data()),
                        state.head_hash.size());
      write_batch.Put(cf(kMeta), "head", head_value);
      auto s = db_->Write(write_options, &write_batch);
      if (s.ok()) {
        wrote = true;
        write_head_ = state.head;
        write_head_hash_ = state.head_hash;
        std::lock_guard versions(version_mu_);
        if (version_cache_.size() + state.stream_versions.size() > options_.max_cached_streams) {
          version_cache_.clear();
          ++clears_;
        }
        for (auto& [stream, version] : state.stream_versions) version_cache_[stream] = version;
      } else {
        fail_store(s);
        for (Pending* p : batch) {
          if (p->result->ok()) p->result = failure();
        }
      }
    }

    std::size_t accepted = 0;
    // Blocking appenders that no fsync will wake: refused, already durable (a
    // duplicate of an append synced before), or caught by a failed store.
    wake_now.clear();
    {
      // Publishing the written head and the asynchronous waiters together,
      // under the syncer's lock, means an fsync that covers a position always
      // finds the waiters for it.
      std::lock_guard lock(sync_mu_);
      if (wrote) written_.store(write_head_, std::memory_order_release);
      for (Pending* p : batch) {
        bool ok = p->result->ok();
        accepted += ok;
        if (p->on_durable) {
          bool durable_now = ok && p->durable_at <= durable_.load(std::memory_order_acquire);
          (ok && !durable_now ? answer_durable : answer_now).push_back(p);
        } else {
          Waker* waker = p->waker;
          if (!ok || !p->until_durable ||
              p->durable_at <= durable_.load(std::memory_order_acquire) ||
              failed_.load(std::memory_order_acquire)) {
            if (p != own) wake_now.push_back(waker);
          } else {
            durable_waiters_.push_back({p->durable_at, waker});
          }
          if (p == own) rounds_after_own = 0;
          p->decided.store(true, std::memory_order_release);  // p may be gone after this
        }
      }
      for (Pending* p : answer_durable) completions_.push_back(p);
      answer_durable.clear();
      if (accepted > 0) {
        std::size_t before = unsynced_count_.fetch_add(accepted, std::memory_order_acq_rel);
        std::size_t expected = expected_group_.load(std::memory_order_relaxed);
        if (before == 0 || (before < expected && before + accepted >= expected)) {
          sync_cv_.notify_one();
        }
      }
    }
    for (Waker* waker : wake_now) waker->wake();
    finish_async(answer_now);
    bool own_decided = own == nullptr || own->decided.load(std::memory_order_relaxed);
    if (own_decided && ++rounds_after_own > kRoundsAfterOwn) break;
  }
}

// Called with write_mu_ held; releases it. Leads rounds, then hands
// leadership on: to the owner of a blocking append still queued, or, when
// only asynchronous appends are (their callers found the lock taken and
// left), leads them for a few more passes and then hands them to the syncer.
void RocksDbEventStore::lead(Pending* own) {
  constexpr int kMaxPasses = 4;
  for (int passes = 1;; ++passes) {
    lead_rounds(own);
    write_mu_.unlock();
    // Requests queued while this thread held the lock. A queued request is
    // alive: only a leader takes it out.
    Waker* next = nullptr;
    bool queued = false;
    {
      std::lock_guard lock(queue_mu_);
      queued = !queue_.empty();
      for (Pending* p : queue_) {
        if (p->waker != nullptr) {
          next = p->waker;
          break;
        }
      }
    }
    if (next != nullptr) {
      next->wake();
      return;
    }
    if (!queued) return;
    const bool failed = failed_.load(std::memory_order_acquire);  // then all are refused at once
    // The syncer goes back to its fsync when it has written something: it
    // leads again right after, and meanwhile nothing it owes is made durable.
    if (!failed && t_is_syncer &&
        written_.load(std::memory_order_acquire) > durable_.load(std::memory_order_acquire)) {
      return;
    }
    if (!failed && passes >= kMaxPasses) {
      // This thread has led long enough for others: the syncer takes over.
      {
        std::lock_guard lock(sync_mu_);
        lead_wanted_ = true;
      }
      sync_cv_.notify_one();
      return;
    }
    if (!write_mu_.try_lock()) return;  // another leader will look at the queue
    own = nullptr;  // decided: from here on this thread leads for others
  }
}

void RocksDbEventStore::syncer_loop() {
  // The wait before each fsync is what makes group commit work: appenders
  // answered together return a few microseconds after the next fsync would
  // have started, and without it they split into two alternating half-size
  // groups (which is what RocksDB's own write groups do under db_bench).
  const auto window = std::chrono::microseconds(options_.group_commit_window_us);
  t_is_syncer = true;
  std::vector<Pending*> done;
  std::vector<Waker*> woken;
  std::vector<DurableCall> calls;
  for (;;) {
    std::uint64_t target = 0;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] {
        return stopping_.load() || lead_wanted_ ||
               written_.load() > durable_.load(std::memory_order_relaxed);
      });
      const bool lead_now = std::exchange(lead_wanted_, false);
      if (written_.load() == durable_.load(std::memory_order_relaxed)) {
        if (!lead_now) break;  // stopping
        // Asynchronous appends a leader handed over, and nothing to sync.
        lock.unlock();
        if (write_mu_.try_lock()) lead(nullptr);
        continue;
      }
      std::size_t expected = expected_group_.load(std::memory_order_relaxed);
      if (options_.sync && unsynced_count_.load() < expected) {
        sync_cv_.wait_for(lock, window, [&] {
          return stopping_.load() || unsynced_count_.load() >= expected;
        });
      }
      std::size_t group = unsynced_count_.exchange(0, std::memory_order_acq_rel);
      expected_group_.store(std::max<std::size_t>(group, 1), std::memory_order_relaxed);
      target = written_.load(std::memory_order_acquire);
    }
    // The leaders' WAL records wait in RocksDB's buffer (manual_wal_flush):
    // one write of them all, then the fsync.
    rocksdb::Status s =
        options_.sync && options_.fail_sync_for_test && options_.fail_sync_for_test()
            ? rocksdb::Status::IOError("fsync failed (injected by a test)")
            : db_->FlushWAL(options_.sync);
    if (!s.ok()) {
      // Whether the events reached the disk is unknown; refuse every further
      // append so that no decision is taken on top of them.
      fail_store(s);
      {
        std::lock_guard lock(sync_mu_);
        done.assign(completions_.begin(), completions_.end());
        completions_.clear();
        finish_async(done);
      }
      // Appends still queued are refused by the next leader; there may be
      // no other one (every later append is refused before it queues).
      if (write_mu_.try_lock()) lead(nullptr);
      break;
    }
    {
      std::lock_guard lock(sync_mu_);
      durable_.store(target, std::memory_order_release);
      while (!completions_.empty() && completions_.front()->durable_at <= target) {
        done.push_back(completions_.front());
        completions_.pop_front();
      }
      while (!durable_waiters_.empty() && durable_waiters_.front().durable_at <= target) {
        woken.push_back(durable_waiters_.front().waker);
        durable_waiters_.pop_front();
      }
      take_durable_calls(target, calls);
    }
    {
      std::lock_guard lock(head_mu_);  // pairs with wait_for's predicate check
    }
    head_cv_.notify_all();
    for (Waker* waker : woken) waker->wake();
    woken.clear();
    run_durable_calls(calls);
    t_running_completions = true;
    finish_async(done);
    t_running_completions = false;
    if (write_mu_.try_lock()) lead(nullptr);
  }
}

Result<std::uint64_t> RocksDbEventStore::current_version(const std::string& stream_id,
                                                         const BatchState& state) {
  if (auto it = state.stream_versions.find(stream_id); it != state.stream_versions.end()) {
    return it->second;
  }
  if (auto cached = cached_version(stream_id)) return *cached;
  return last_version_in_db(stream_id);
}

std::optional<std::uint64_t> RocksDbEventStore::cached_version(std::string_view stream_id) const {
  std::lock_guard lock(version_mu_);
  if (auto it = version_cache_.find(stream_id); it != version_cache_.end()) return it->second;
  return std::nullopt;
}

std::uint64_t RocksDbEventStore::version_clears() const {
  std::lock_guard lock(version_mu_);
  return clears_;
}

void RocksDbEventStore::remember_version(std::string_view stream_id, std::uint64_t version,
                                         std::uint64_t clears) {
  if (options_.mode != RocksDbOptions::Mode::read_write) return;
  std::lock_guard lock(version_mu_);
  if (clears != clears_ || version_cache_.size() >= options_.max_cached_streams) return;
  version_cache_.try_emplace(std::string(stream_id), version);
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
      if (auto it = state.staged_by_id.find(e.event_id); it != state.staged_by_id.end()) {
        RecordedEvent staged;
        staged.stream_id = *it->second.stream_id;
        staged.position = it->second.position;
        staged.stream_version = it->second.stream_version;
        staged.data = *it->second.data;
        stored = std::move(staged);
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

      std::string pos = codec::position_key(record.position);
      stream_index_key.assign(sw.stream_id);
      stream_index_key.push_back('\0');
      codec::put_be64(stream_index_key, version);
      batch.Put(cf(kEvents), pos, stored);
      batch.Put(cf(kStreams), stream_index_key, pos);
      batch.Put(cf(kEventIds), e.event_id, pos);
      state.staged_by_id[e.event_id] =
          BatchState::Staged{&sw.stream_id, &e, record.position, record.stream_version};
    }
    state.stream_versions[sw.stream_id] = version;
    result.stream_versions.push_back(version);
  }
  result.last_position = state.head;
  for (const auto& o : request.outbox) {
    std::string key = codec::position_key(result.last_position);
    key.append(o.id);
    batch.Put(cf(kOutbox), key, o.value);
  }
  for (const auto& key : request.outbox_done) batch.Delete(cf(kOutbox), key);
  return result;
}

}  // namespace latchkey::eventstore
