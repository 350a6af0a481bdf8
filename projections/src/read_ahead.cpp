#include "read_ahead.hpp"

#include <pthread.h>
#include <string>

namespace latchkey::projections {

ReadAhead::ReadAhead(eventstore::EventStore& store, std::uint64_t from, std::uint64_t to, int consumers)
    : consumers_(consumers) {
  for (std::size_t i = 0; i < kChunks; ++i) {
    chunks_.push_back(std::make_unique<Chunk>());
    free_.push_back(chunks_.back().get());
  }
  thread_ = std::thread([this, &store, from, to] {
    pthread_setname_np(pthread_self(), "lk-read-ahead");
    run(store, from, to);
  });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<domain::DomainEvent> decode_recorded(const eventstore::RecordedEvent& recorded) {
  auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version, recorded.data.payload);
  if (!event) {
    return make_error(eventstore::kCorruption,
                      "position " + std::to_string(recorded.position) + ": " + event.error().message);
  }
  return event;
}

ReadAhead::Chunk* ReadAhead::next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || finished_; });
  if (ready_.empty()) return nullptr;
  Chunk* chunk = ready_.front();
  ready_.pop_front();
  chunk->holders = consumers_;
  return chunk;
}

void ReadAhead::done_with(Chunk* chunk) {
  {
    std::lock_guard lock(mu_);
    if (--chunk->holders > 0) return;
    free_.push_back(chunk);
  }
  cv_.notify_all();
}

Result<void> ReadAhead::result() {
  std::lock_guard lock(mu_);
  return result_;
}

ReadAhead::Chunk* ReadAhead::free_chunk() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || stopping_; });
  if (stopping_) return nullptr;
  Chunk* chunk = free_.back();
  free_.pop_back();
  chunk->size = 0;
  return chunk;
}

void ReadAhead::hand_over(Chunk* chunk) {
  {
    std::lock_guard lock(mu_);
    ready_.push_back(chunk);
  }
  cv_.notify_all();
}

void ReadAhead::run(eventstore::EventStore& store, std::uint64_t from, std::uint64_t to) {
  Result<void> outcome;
  try {
    Chunk* chunk = free_chunk();
    if (chunk) {
      auto visited = store.for_each_event(from, to, [&](const eventstore::RecordedEvent& recorded) {
        auto event = decode_recorded(recorded);
        if (!event) {
          outcome = event.error();
          return false;
        }
        if (chunk->size < chunk->items.size()) {
          auto& item = chunk->items[chunk->size];
          item.recorded = recorded;  // into the strings of an event already folded
          item.event = std::move(*event);
        } else {
          chunk->items.push_back(Item{recorded, std::move(*event)});
        }
        if (++chunk->size < kChunkEvents) return true;
        hand_over(chunk);
        chunk = free_chunk();
        return chunk != nullptr;
      });
      if (!visited) outcome = visited.error();
      // What was read before a failure is still handed over, in order.
      if (chunk && chunk->size > 0) hand_over(chunk);
    }
  } catch (const std::exception& e) {
    outcome = make_error(eventstore::kCorruption, std::string("reading the log: ") + e.what());
  }
  {
    std::lock_guard lock(mu_);
    result_ = std::move(outcome);
    finished_ = true;
  }
  cv_.notify_all();
}

}  // namespace latchkey::projections
