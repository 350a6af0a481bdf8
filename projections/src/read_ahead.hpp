// Reads and decodes a range of the log on a thread of its own, a few
// thousand events ahead of the fold that consumes them: in a long catch-up
// the folding thread then only folds. Chunks of events are handed over and
// handed back, so their strings keep their capacity from one chunk to the
// next and reading allocates little.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "latchkey/domain/events.hpp"
#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::projections {

// A stored event's domain event, or a corruption error naming its position.
Result<domain::DomainEvent> decode_recorded(const eventstore::RecordedEvent& recorded);

class ReadAhead {
 public:
  struct Item {
    eventstore::RecordedEvent recorded;
    domain::DomainEvent event;
  };
  struct Chunk {
    std::vector<Item> items;  // the first `size` are this chunk's events
    std::size_t size = 0;
    int holders = 0;  // consumers not yet done with it (guarded by the reader's mutex)
  };

  // Starts reading events [from, to] of `store` for `consumers` threads: each
  // chunk next() hands out is reused once every one of them is done with it.
  ReadAhead(eventstore::EventStore& store, std::uint64_t from, std::uint64_t to, int consumers = 1);
  // Stops the reader (wherever it is) and waits for it.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk, in order; nullptr once every event has been handed out
  // or reading failed (then result() says why). One thread calls it and
  // passes each chunk on to the other consumers.
  Chunk* next();
  // Gives a chunk from next() back once its events are folded; from any
  // consumer's thread, once per consumer.
  void done_with(Chunk* chunk);
  // After next() returned nullptr: whether every event was read and decoded.
  Result<void> result();

 private:
  static constexpr std::size_t kChunkEvents = 512;
  static constexpr std::size_t kChunks = 16;

  void run(eventstore::EventStore& store, std::uint64_t from, std::uint64_t to);
  Chunk* free_chunk();  // waits for one; nullptr when stopping
  void hand_over(Chunk* chunk);

  const int consumers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Chunk>> chunks_;
  std::vector<Chunk*> free_;
  std::deque<Chunk*> ready_;
  bool finished_ = false;  // the reader has handed over its last chunk
  bool stopping_ = false;
  Result<void> result_;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace latchkey::projections
