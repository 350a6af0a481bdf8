// How every handler reads its write models and appends its decision.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include "latchkey/commands/context.hpp"
#include "latchkey/commands/refusals.hpp"
#include "latchkey/domain/events.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/tenant.hpp"
#include "latchkey/domain/family.hpp"
#include "latchkey/domain/messages.hpp"
#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::commands {

// A write model as of a stream version: a shared, immutable snapshot (the
// cache hands the same one to every command that loads the stream until the
// stream moves on), so a load copies nothing.
template <class State>
class Loaded {
 public:
  Loaded() : state_(empty()) {}
  Loaded(std::shared_ptr<const State> state, std::uint64_t version)
      : version(version), state_(std::move(state)) {}

  const State& state() const { return *state_; }
  eventstore::ExpectedVersion expected() const { return eventstore::ExpectedVersion::exactly(version); }

  std::uint64_t version = 0;  // 0: the stream does not exist

 private:
  static const std::shared_ptr<const State>& empty() {
    static const auto state = std::make_shared<const State>();
    return state;
  }
  std::shared_ptr<const State> state_;
};

Error corrupt_stream(std::string_view stream, const Error& cause);

// The write models of recently used streams. Streams are append-only and a
// write model is a pure fold of its stream, so a cached state plus the
// events after its version is exactly the state a full read would give; a
// load therefore reads only the stream's tail (and the store answers "no
// tail" from memory for a stream it wrote recently). Bounded: when a cache is
// full an arbitrary entry is dropped (it is rebuilt from the log on next use).
//
// After a command's append, the events it wrote are kept with the cached
// entry and folded in by the next load: in place when no command holds the
// entry's snapshot any more (the usual case: the command that wrote them has
// answered by then), else into a copy. A write model is therefore copied
// only when two commands on one stream overlap, not on every load.
//
// Thread safety: load() and advance() may be called from any thread.
class WriteModels {
 public:
  explicit WriteModels(eventstore::EventStore& store, std::size_t max_entries_per_type = 20000)
      : store_(store), max_entries_(max_entries_per_type) {}

  template <class State>
  Result<Loaded<State>> load(const std::string& stream) {
    auto& cache = std::get<Cache<State>>(caches_);
    Loaded<State> loaded;
    {
      std::lock_guard lock(cache.mutex);
      if (auto it = cache.entries.find(stream); it != cache.entries.end()) loaded = it->second.snapshot();
    }
    // The tail past the cached version, if any, folded into a copy.
    std::shared_ptr<State> next;
    std::uint64_t version = loaded.version;
    constexpr std::size_t kChunk = 512;
    for (;;) {
      auto events = store_.read_stream(stream, version + 1, kChunk);
      if (!events) return events.error();
      for (const auto& recorded : *events) {
        auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version,
                                          recorded.data.payload);
        if (!event) return corrupt_stream(stream, event.error());
        if (!next) next = std::make_shared<State>(loaded.state());
        next->apply(*event, recorded.data.recorded_at_us);
        version = recorded.stream_version;
      }
      if (events->size() < kChunk) break;
    }
    if (!next) return loaded;
    {
      std::lock_guard lock(cache.mutex);
      auto& slot = cache.entries[stream];
      if (!slot.state || slot.latest() < version) slot = Entry<State>{next, version, {}};
      if (cache.entries.size() > max_entries_) cache.entries.erase(cache.entries.begin());
    }
    return Loaded<State>(std::move(next), version);
  }

  // After a durable append to `stream` that took it from version `from` to
  // `to`: a cached write model still at `from` keeps the events just written
  // (decoded from the very bytes stored, with their recorded time) for the
  // next load to fold, which then reads nothing. Any other cached version
  // is left alone; a later load catches it up from the log as usual.
  void advance(const std::string& stream, std::uint64_t from, std::uint64_t to,
               std::vector<domain::DomainEvent>&& events, domain::Micros recorded_at_us) {
    if (from == 0 || to != from + events.size()) return;
    std::apply(
        [&](auto&... cache) { (advance_in(cache, stream, from, events, recorded_at_us) || ...); },
        caches_);
  }

  eventstore::EventStore& store() { return store_; }

  // Write models cached, every type together.
  std::size_t size() {
    std::size_t entries = 0;
    std::apply([&](auto&... cache) { ((entries += size_of(cache)), ...); }, caches_);
    return entries;
  }

 private:
  template <class State>
  struct Entry {
    std::shared_ptr<State> state;  // never null
    std::uint64_t version = 0;
    // Written after `state` and not folded into it yet, with the time each
    // was recorded: the events that take it from `version` to latest().
    std::vector<std::pair<domain::DomainEvent, domain::Micros>> pending;

    std::uint64_t latest() const { return version + pending.size(); }

    // Under the cache's lock.
    Loaded<State> snapshot() {
      if (!pending.empty()) {
        // No other holder (use_count() == 1) means no command can be reading
        // it: every snapshot is taken under this lock. The fence pairs with
        // the release of the last holder's reference.
        if (state.use_count() == 1) {
          std::atomic_thread_fence(std::memory_order_acquire);
        } else {
          state = std::make_shared<State>(*state);
        }
        for (const auto& [event, at] : pending) state->apply(event, at);
        version += pending.size();
        pending.clear();
      }
      return Loaded<State>(state, version);
    }
  };

  template <class Cache>
  static std::size_t size_of(Cache& cache) {
    std::lock_guard lock(cache.mutex);
    return cache.entries.size();
  }

  template <class Cache>
  static bool advance_in(Cache& cache, const std::string& stream, std::uint64_t from,
                         std::vector<domain::DomainEvent>& events, domain::Micros recorded_at_us) {
    std::lock_guard lock(cache.mutex);
    auto it = cache.entries.find(stream);
    if (it == cache.entries.end()) return false;
    auto& entry = it->second;
    if (entry.latest() == from) {
      for (auto& e : events) entry.pending.emplace_back(std::move(e), recorded_at_us);
    }
    return true;
  }

  template <class State>
  struct Cache {
    std::mutex mutex;
    std::unordered_map<std::string, Entry<State>> entries;
  };

  eventstore::EventStore& store_;
  std::size_t max_entries_;
  std::tuple<Cache<domain::TenantState>, Cache<domain::FamilyState>, Cache<domain::GuardianState>,
             Cache<domain::ChildState>, Cache<domain::LoginIdState>>
      caches_;
};

// The events and messages one decision will append, all or nothing.
class Transaction {
 public:
  // Events for one stream go in the order given; the expected version of a
  // stream is the one given with its first event.
  void append(const std::string& stream, eventstore::ExpectedVersion expected,
              domain::DomainEvent event);
  void send(domain::OutboxMessage message) { messages_.push_back(std::move(message)); }
  bool empty() const { return streams_.empty(); }

  eventstore::AppendRequest build(const CommandContext& ctx, Ports& ports) const;

 private:
  struct Stream {
    std::string id;
    eventstore::ExpectedVersion expected;
    std::vector<domain::DomainEvent> events;
  };
  std::vector<Stream> streams_;
  std::vector<domain::OutboxMessage> messages_;
};

// Appends (durably, or written only when ctx.durable_at is set: see
// CommandContext), then moves the cached write models of the streams written
// forward (WriteModels::advance). A version clash comes back as
// kWrongExpectedVersion.
Result<eventstore::AppendResult> commit(WriteModels& models, const CommandContext& ctx, Ports& ports,
                                        const Transaction& tx);

// Runs `attempt` again while it fails with a version clash (it must load
// afresh each time); after too many clashes, refuses with kVersionConflict.
template <class Attempt>
auto with_retries(Attempt&& attempt) -> decltype(attempt()) {
  constexpr int kMaxAttempts = 64;
  for (int i = 0; i < kMaxAttempts; ++i) {
    auto result = attempt();
    if (result.ok() || result.error().code != eventstore::kWrongExpectedVersion) return result;
  }
  return make_error(refusal::kVersionConflict,
                    "too many concurrent changes to the same records; try again");
}

Error not_found(std::string_view what);
// The message context for a guardian in a tenant.
// It refers to the tenant's templates: `tenant` must outlive it.
domain::MessageContext message_context(const CommandContext& ctx, Ports& ports,
                                       const domain::TenantState& tenant,
                                       const domain::GuardianState& guardian);

}  // namespace latchkey::commands
