// How every handler reads its write models and appends its decision.
#pragma once

#include <map>
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

template <class State>
struct Loaded {
  State state;
  std::uint64_t version = 0;  // 0: the stream does not exist
  eventstore::ExpectedVersion expected() const { return eventstore::ExpectedVersion::exactly(version); }
};

Error corrupt_stream(std::string_view stream, const Error& cause);

// Folds a stream into its write model (State::apply), from `from` onwards.
template <class State>
Result<void> catch_up(eventstore::EventStore& store, const std::string& stream, Loaded<State>& loaded) {
  constexpr std::size_t kChunk = 512;
  for (;;) {
    auto events = store.read_stream(stream, loaded.version + 1, kChunk);
    if (!events) return events.error();
    for (const auto& recorded : *events) {
      auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version,
                                        recorded.data.payload);
      if (!event) return corrupt_stream(stream, event.error());
      loaded.state.apply(*event, recorded.data.recorded_at_us);
      loaded.version = recorded.stream_version;
    }
    if (events->size() < kChunk) return {};
  }
}

// The write models of recently used streams. Streams are append-only and a
// write model is a pure fold of its stream, so a cached state plus the
// events after its version is exactly the state a full read would give; a
// load therefore reads only the stream's tail. Bounded: when a cache is full
// an arbitrary entry is dropped (it is rebuilt from the log on next use).
//
// Thread safety: load() may be called from any thread.
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
      if (auto it = cache.entries.find(stream); it != cache.entries.end()) loaded = it->second;
    }
    const std::uint64_t cached_version = loaded.version;
    if (auto r = catch_up(store_, stream, loaded); !r) return r.error();
    if (loaded.version != cached_version) {
      std::lock_guard lock(cache.mutex);
      auto& slot = cache.entries[stream];
      if (slot.version < loaded.version) slot = loaded;
      if (cache.entries.size() > max_entries_) cache.entries.erase(cache.entries.begin());
    }
    return loaded;
  }

  // After a durable append to `stream` that took it from version `from` to
  // `to`: a cached write model still at `from` folds the events just written
  // (decoded from the very bytes stored, with their recorded time), so the
  // next load finds it current and reads nothing. Any other cached version
  // is left alone; a later load catches it up from the log as usual.
  void advance(const std::string& stream, std::uint64_t from, std::uint64_t to,
               const std::vector<domain::DomainEvent>& events, domain::Micros recorded_at_us) {
    if (from == 0 || to != from + events.size()) return;
    std::apply([&](auto&... cache) { (advance_in(cache, stream, from, to, events, recorded_at_us) || ...); },
               caches_);
  }

  eventstore::EventStore& store() { return store_; }

 private:
  template <class Cache>
  static bool advance_in(Cache& cache, const std::string& stream, std::uint64_t from, std::uint64_t to,
                         const std::vector<domain::DomainEvent>& events, domain::Micros recorded_at_us) {
    std::lock_guard lock(cache.mutex);
    auto it = cache.entries.find(stream);
    if (it == cache.entries.end()) return false;
    if (it->second.version == from) {
      for (const auto& e : events) it->second.state.apply(e, recorded_at_us);
      it->second.version = to;
    }
    return true;
  }

  template <class State>
  struct Cache {
    std::mutex mutex;
    std::unordered_map<std::string, Loaded<State>> entries;
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

// Appends durably, then moves the cached write models of the streams written
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
