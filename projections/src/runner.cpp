#include "latchkey/projections/runner.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "job_thread.hpp"
#include "read_ahead.hpp"

namespace latchkey::projections {

namespace {
// Stretches of the log at least this long are read ahead on a thread of their own.
constexpr std::uint64_t kReadAheadAtLeast = 4096;
}  // namespace

std::string checkpoint_key(std::string_view projection_name) {
  return "checkpoint/" + std::string(projection_name);
}

// Writes the batches handed to it, one at a time, on a thread that lives as
// long as the runner. (A thread per batch, std::async, meant hundreds of
// thread creations a second while the server followed a busy log.)
class Committer {
 public:
  template <class Job>
  std::future<Result<void>> submit(Job&& job) {
    auto task = std::make_shared<std::packaged_task<Result<void>()>>(std::forward<Job>(job));
    auto done = task->get_future();
    thread_.post([task] { (*task)(); });
    return done;
  }

 private:
  JobThread thread_{"lk-rm-commit"};
};

// Folds the chunks of a read-ahead for some of the projections on a thread
// of its own, while the thread that hands them over folds them for the
// others. Each projection is folded by one thread only, in log order, and
// touches nothing of another's (its rows, its write set), so neither thread
// needs a lock; the read models' store is safe to read from both.
class SecondFold {
 public:
  SecondFold(ReadAhead& ahead, std::function<Result<void>(const ReadAhead::Item&)> apply)
      : ahead_(ahead), apply_(std::move(apply)) {}

  void give(ReadAhead::Chunk* chunk) {
    thread_.post([this, chunk] {
      for (std::size_t i = 0; outcome_.ok() && i < chunk->size; ++i) outcome_ = apply_(chunk->items[i]);
      if (!outcome_) failed_.store(true, std::memory_order_relaxed);
      ahead_.done_with(chunk);
    });
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Waits until every chunk given is folded (or, after a failure, passed
  // over) and handed back; the outcome.
  Result<void> finish() {
    thread_.wait_idle();
    return outcome_;
  }

 private:
  ReadAhead& ahead_;
  std::function<Result<void>(const ReadAhead::Item&)> apply_;
  Result<void> outcome_;  // the thread's own until it is idle
  std::atomic<bool> failed_{false};
  JobThread thread_{"lk-fold"};  // last: goes first, after its last job
};

ProjectionRunner::ProjectionRunner(eventstore::EventStore& store, ReadModelDb& db,
                                   std::vector<std::unique_ptr<Projection>> projections, RunnerOptions options)
    : store_(store), db_(db), options_(options), committer_(std::make_unique<Committer>()) {
  for (auto& p : projections) slots_.push_back(Slot{std::move(p), {}, 0});
}

ProjectionRunner::~ProjectionRunner() { stop(); }

Result<void> ProjectionRunner::open() {
  for (auto& slot : slots_) {
    auto& p = *slot.projection;
    auto stored = db_.get(checkpoint_key(p.name()));
    if (!stored) return stored.error();
    Checkpoint cp;
    if (stored->has_value()) {
      auto j = nlohmann::json::parse(**stored, nullptr, false);
      if (j.is_object()) {
        cp.position = j.value("position", std::uint64_t{0});
        cp.schema_version = j.value("schema_version", std::uint32_t{0});
      }
    }
    if (!stored->has_value() || cp.schema_version != p.schema_version()) {
      // New, or its code changed shape: start it over rather than mix shapes.
      if (auto r = db_.erase_prefix(std::string(p.name()) + "/"); !r) return r;
      cp = Checkpoint{0, p.schema_version()};
      p.reset(Projection::Stored::erased);
    }
    slot.checkpoint = cp;
    slot.folded = cp.position;
  }
  aged_at_ = slots_.empty() ? 0 : lowest_folded();
  publish_applied();
  return {};
}

Result<void> ProjectionRunner::reset(std::string_view name) {
  bool found = false;
  for (auto& slot : slots_) {
    auto& p = *slot.projection;
    if (!name.empty() && p.name() != name) continue;
    found = true;
    if (auto r = db_.erase_prefix(std::string(p.name()) + "/"); !r) return r;
    auto writes = db_.begin();
    writes->erase(checkpoint_key(p.name()));
    if (auto r = db_.commit(*writes); !r) return r;
    p.reset(Projection::Stored::erased);
    slot.checkpoint = Checkpoint{0, p.schema_version()};
    slot.folded = 0;
    slot.writes.reset();
  }
  if (!found) return make_error("not_found", "no projection named " + std::string(name));
  publish_applied();
  return {};
}

void ProjectionRunner::publish_applied() {
  std::uint64_t low = ~std::uint64_t{0};
  for (const auto& slot : slots_) low = std::min(low, slot.checkpoint.position);
  if (slots_.empty()) low = store_.head();
  {
    std::lock_guard lock(mutex_);
    applied_.store(low, std::memory_order_release);
  }
  advanced_.notify_all();
  cached_rows_seen_.store(cached_rows(), std::memory_order_relaxed);
}

std::uint64_t ProjectionRunner::lowest_folded() const {
  std::uint64_t low = ~std::uint64_t{0};
  for (const auto& slot : slots_) low = std::min(low, slot.folded);
  return low;
}

void ProjectionRunner::forget_uncommitted() {
  for (auto& slot : slots_) {
    slot.projection->reset(Projection::Stored::as_committed);
    slot.folded = slot.checkpoint.position;
    slot.writes.reset();
  }
}

Result<std::uint64_t> ProjectionRunner::fold(std::uint64_t to) {
  std::uint64_t from = ~std::uint64_t{0};
  for (const auto& slot : slots_) from = std::min(from, slot.folded + 1);
  if (slots_.empty() || from > to) return from - 1;
  for (auto& slot : slots_) {
    if (!slot.writes) slot.writes = db_.begin();
  }
  to = std::min(to, from + options_.max_batch_events - 1);
  std::uint64_t last = from - 1;
  auto apply = [](const std::vector<Slot*>& slots, const eventstore::RecordedEvent& recorded,
                  const domain::DomainEvent& event) -> Result<void> {
    try {
      for (auto* slot : slots) {
        if (slot->folded < recorded.position) slot->projection->apply(recorded, event, *slot->writes);
      }
    } catch (const ReadModelError& e) {
      return make_error(eventstore::kCorruption, e.what());
    }
    return {};
  };
  auto done = [&](Result<void> outcome) -> Result<std::uint64_t> {
    if (!outcome) return outcome.error();
    for (auto& slot : slots_) slot.folded = std::max(slot.folded, last);
    return last;
  };

  if (to - from + 1 >= kReadAheadAtLeast) {
    // A long stretch: read and decode it on another thread, and fold it on
    // two, each folding its own projections (every other one).
    std::vector<Slot*> mine, theirs;
    for (std::size_t i = 0; i < slots_.size(); ++i) (i % 2 == 0 ? mine : theirs).push_back(&slots_[i]);
    ReadAhead ahead(store_, from, to, theirs.empty() ? 1 : 2);
    std::optional<SecondFold> second;
    if (!theirs.empty()) {
      second.emplace(ahead, [&](const ReadAhead::Item& item) { return apply(theirs, item.recorded, item.event); });
    }
    Result<void> outcome;
    while (auto* chunk = ahead.next()) {
      if (second) second->give(chunk);
      for (std::size_t i = 0; outcome.ok() && i < chunk->size; ++i) {
        outcome = apply(mine, chunk->items[i].recorded, chunk->items[i].event);
      }
      if (chunk->size > 0) last = chunk->items[chunk->size - 1].recorded.position;
      ahead.done_with(chunk);
      if (!outcome || (second && second->failed())) break;
    }
    const Result<void> theirs_outcome = second ? second->finish() : Result<void>{};
    if (!outcome) return outcome.error();
    if (!theirs_outcome) return theirs_outcome.error();
    return done(ahead.result());
  }
  std::vector<Slot*> all;
  for (auto& slot : slots_) all.push_back(&slot);
  Result<void> failure;
  auto visited = store_.for_each_event(from, to, [&](const eventstore::RecordedEvent& recorded) {
    auto event = decode_recorded(recorded);
    failure = event ? apply(all, recorded, *event) : Result<void>(event.error());
    if (failure) last = recorded.position;
    return failure.ok();
  });
  if (!visited) return visited.error();
  return done(failure);
}

Result<void> ProjectionRunner::catch_up(std::uint64_t until,
                                        const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const std::uint64_t target = until == 0 ? store_.head() : std::min(until, store_.head());
  const std::uint64_t started_at = lowest_folded();
  // The batches being written by the committer (in the order handed over),
  // and what each will checkpoint.
  struct InFlight {
    std::future<Result<void>> done;
    std::vector<std::uint64_t> positions;  // per projection; 0 where it writes none
  };
  std::vector<InFlight> in_flight;
  std::mutex in_flight_mutex;  // only while two threads hand over (the end of a long catch-up)
  // Waits for every batch in flight; the checkpoints of those that landed
  // count (their rows are on disk with them, or they would be folded twice).
  auto settle = [&]() -> Result<void> {
    Result<void> outcome;
    for (auto& batch : in_flight) {
      auto r = batch.done.get();
      if (!r) {
        if (outcome) outcome = r;
        continue;
      }
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        slots_[i].checkpoint.position = std::max(slots_[i].checkpoint.position, batch.positions[i]);
      }
    }
    in_flight.clear();
    return outcome;
  };
  auto land = [&]() -> Result<void> {
    if (in_flight.empty()) return {};
    if (auto r = settle(); !r) return r;
    publish_applied();
    if (progress) {
      std::uint64_t low = ~std::uint64_t{0};
      for (const auto& slot : slots_) low = std::min(low, slot.checkpoint.position);
      progress(low, target);
    }
    return {};
  };
  auto fail = [&](Error e) -> Result<void> {
    (void)settle();
    forget_uncommitted();
    publish_applied();
    return e;
  };

  // One projection's changes since its last commit, with its checkpoint, to
  // be written together.
  std::vector<std::uint64_t> handed;  // per projection: the position of its last write handed over
  for (const auto& slot : slots_) handed.push_back(slot.checkpoint.position);
  struct Changes {
    std::unique_ptr<WriteSet> set;
    std::function<void(WriteSet&)> job;  // puts the changed rows into set
    std::optional<std::pair<std::string, std::string>> checkpoint;  // on one set of a projection's
    // Puts everything into the set (on the thread that calls it).
    void ready() {
      if (job) job(*set);
      job = nullptr;
      if (checkpoint) set->put(checkpoint->first, checkpoint->second);
      checkpoint.reset();
    }
  };
  auto checkpoint_of = [&](std::size_t i) {
    auto& slot = slots_[i];
    nlohmann::json cp = {{"position", slot.folded},
                         {"schema_version", slot.projection->schema_version()}};
    return std::pair{checkpoint_key(slot.projection->name()), cp.dump()};
  };
  // A projection's own writes since its last hand-over (an empty set if none).
  auto own_writes = [&](Slot& slot) { return slot.writes ? std::move(slot.writes) : db_.begin(); };
  auto take = [&](std::size_t i) {
    auto& slot = slots_[i];
    handed[i] = slot.folded;
    return Changes{own_writes(slot), slot.projection->take_changes(), checkpoint_of(i)};
  };
  // The same, in parts to be readied side by side (the first holds the
  // projection's own writes and its checkpoint); all of them are to be
  // committed together.
  auto take_in_place = [&](std::size_t i, std::size_t parts) {
    auto& slot = slots_[i];
    handed[i] = slot.folded;
    auto jobs = slot.projection->take_changes_in_place(parts, options_.rows_per_part_at_least);
    std::vector<Changes> changes;
    changes.push_back(Changes{own_writes(slot), nullptr, checkpoint_of(i)});
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      if (k == 0) {
        changes.front().job = std::move(jobs[k]);
      } else {
        changes.push_back(Changes{db_.begin(), std::move(jobs[k]), std::nullopt});
      }
    }
    return changes;
  };
  auto submit = [&](std::vector<Changes> changes, std::vector<std::uint64_t> positions) {
    auto done = committer_->submit([this, changes = std::move(changes)]() mutable -> Result<void> {
      std::vector<WriteSet*> all;
      for (auto& c : changes) {
        c.ready();
        all.push_back(c.set.get());
      }
      return db_.commit(all);
    });
    in_flight.push_back(InFlight{std::move(done), std::move(positions)});
  };

  // Hands the committer every projection's changes since its last commit,
  // with its checkpoint, as one atomic write, except those of projections
  // that may keep holding them (`hold`: a long catch-up not at its end).
  const bool long_catch_up = options_.hold_after_events > 0 && target - started_at >= options_.hold_after_events;
  // Pending writes are held up to max_held_writes for all projections
  // together: past it, the projections holding the most commit, the
  // largest first, until what the others hold is below it.
  auto held_writes = [&](std::size_t i) { return slots_[i].writes ? slots_[i].writes->size() : 0; };
  auto hand_over = [&](bool hold) -> Result<void> {
    std::vector<bool> holding(slots_.size(), false);
    std::vector<std::size_t> by_writes;
    std::size_t total = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const auto& p = *slots_[i].projection;
      holding[i] = hold && p.holds_rows() && p.cached_rows() < options_.max_cached_rows;
      if (!holding[i]) continue;
      total += held_writes(i);
      by_writes.push_back(i);
    }
    std::sort(by_writes.begin(), by_writes.end(),
              [&](std::size_t a, std::size_t b) { return held_writes(a) > held_writes(b); });
    for (std::size_t k = 0; k < by_writes.size() && total >= options_.max_held_writes; ++k) {
      holding[by_writes[k]] = false;
      total -= held_writes(by_writes[k]);
    }
    std::vector<Changes> changes;
    std::vector<std::uint64_t> positions(slots_.size(), 0);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const auto& slot = slots_[i];
      if (holding[i] || slot.folded == handed[i]) continue;
      positions[i] = slot.folded;
      changes.push_back(take(i));
    }
    if (auto r = land(); !r) return r;
    if (!changes.empty()) submit(std::move(changes), std::move(positions));
    return {};
  };
  // The end of a long catch-up: what every projection held goes, each
  // projection's as a write of its own, readied (serialised and sorted) by
  // this thread and a helper side by side, a projection with many rows in
  // parts, and taken by the committer as soon as its last part is ready.
  // (Readied one projection at a time, the guardian rows alone kept one
  // core busy for ~0.9 s of a 1M-event rebuild while the other idled.) The
  // batch before must have landed first: a projection that commits every
  // batch (the audit index) writes only its last one here, with a
  // checkpoint that counts the earlier ones as written.
  auto hand_over_held = [&]() -> Result<void> {
    if (auto r = land(); !r) return r;
    constexpr std::size_t kParts = 4;  // per projection, for two threads to share out evenly
    struct Held {
      std::size_t slot;
      std::vector<Changes> parts;
      std::size_t unready;
    };
    std::vector<Held> held;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].folded == handed[i]) continue;
      auto parts = take_in_place(i, kParts);
      const std::size_t n = parts.size();
      held.push_back(Held{i, std::move(parts), n});
    }
    // The largest first: their writes reach the committer while the rest are readied.
    std::stable_sort(held.begin(), held.end(),
                     [](const Held& a, const Held& b) { return a.parts.size() > b.parts.size(); });
    std::vector<std::pair<Held*, std::size_t>> units;
    for (auto& h : held) {
      for (std::size_t k = 0; k < h.parts.size(); ++k) units.emplace_back(&h, k);
    }
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t u; (u = next.fetch_add(1)) < units.size();) {
        auto [h, k] = units[u];
        h->parts[k].ready();
        h->parts[k].set->prepare();
        std::lock_guard lock(in_flight_mutex);
        if (--h->unready > 0) continue;
        std::vector<std::uint64_t> positions(slots_.size(), 0);
        positions[h->slot] = slots_[h->slot].folded;
        submit(std::move(h->parts), std::move(positions));
      }
    };
    {
      std::optional<JobThread> helper;  // when there is more than one to ready
      if (units.size() > 1) helper.emplace("lk-ready").post(work);
      work();
    }  // the helper has finished its last one
    return land();
  };

  for (;;) {
    const std::uint64_t low = lowest_folded();
    if (slots_.empty() || low >= target) break;

    auto folded = fold(target);
    if (!folded) return fail(folded.error());
    if (*folded <= low) break;  // the log ended early (nothing more is durable)

    if (long_catch_up && *folded >= target) {
      if (auto r = hand_over_held(); !r) return fail(r.error());
    } else if (auto r = hand_over(long_catch_up); !r) {
      return fail(r.error());
    }
    // Cached rows may only be dropped when nothing is in flight.
    bool large = false;
    for (const auto& slot : slots_) large = large || slot.projection->cached_rows() > options_.max_cached_rows;
    if (large) {
      if (auto r = land(); !r) return fail(r.error());
      for (auto& slot : slots_) {
        if (slot.projection->cached_rows() > options_.max_cached_rows) slot.projection->trim_cache();
      }
      cached_rows_seen_.store(cached_rows(), std::memory_order_relaxed);
    }
  }
  // Whatever is still held (the log ended early) goes now.
  if (auto r = hand_over_held(); !r) return fail(r.error());
  // Nothing is in flight now: every change taken has landed.
  if (!slots_.empty() && lowest_folded() - started_at >= options_.drop_caches_after_events) {
    for (auto& slot : slots_) slot.projection->trim_cache();  // freed on another thread
    cached_rows_seen_.store(0, std::memory_order_relaxed);
    release_memory_later();  // then the freed pages go back to the system
    aged_at_ = lowest_folded();
  } else if (!slots_.empty() && lowest_folded() - aged_at_ >= options_.age_rows_every_events) {
    for (auto& slot : slots_) slot.projection->age_cache();
    cached_rows_seen_.store(cached_rows(), std::memory_order_relaxed);
    aged_at_ = lowest_folded();
  }
  db_.caught_up();
  return {};
}

std::size_t ProjectionRunner::held_writes() const {
  std::size_t writes = 0;
  for (const auto& slot : slots_) writes += slot.writes ? slot.writes->size() : 0;
  return writes;
}

std::size_t ProjectionRunner::cached_rows() const {
  std::size_t rows = 0;
  for (const auto& slot : slots_) rows += slot.projection->cached_rows();
  return rows;
}

void ProjectionRunner::follow() {
  while (!stopping_.load()) {
    if (store_.head() <= applied()) {
      store_.wait_for(applied(), options_.idle_wait);
      continue;
    }
    auto r = catch_up();
    if (!r) {
      {
        std::lock_guard lock(mutex_);
        last_error_ = r.error().message;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

void ProjectionRunner::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lk-projections");
    follow();
  });
}

void ProjectionRunner::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool ProjectionRunner::wait_for(std::uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return advanced_.wait_for(lock, timeout, [&] { return applied_.load() >= position; });
}

Checkpoint ProjectionRunner::checkpoint(std::string_view name) const {
  for (const auto& slot : slots_) {
    if (slot.projection->name() == name) return slot.checkpoint;
  }
  return {};
}

std::string ProjectionRunner::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace latchkey::projections
