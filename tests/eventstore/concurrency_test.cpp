// Sixteen threads racing appends: every stream version is taken exactly once,
// global positions stay dense, nothing is lost.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/event_factory.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::eventstore {
namespace {

using latchkey::testing::make_event;
using latchkey::testing::one_stream;
using latchkey::testing::TempDir;

constexpr int kThreads = 16;

class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = open_rocksdb_event_store(dir_.str("db"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
  }

  void expect_dense_and_verified(std::uint64_t expected_events) {
    EXPECT_EQ(store_->head(), expected_events);
    auto all = store_->read_all(1, expected_events + 10);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), expected_events);
    for (std::size_t i = 0; i < all->size(); ++i) ASSERT_EQ((*all)[i].position, i + 1);
    auto report = store_->verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->problem;
  }

  // Answers that come on other threads: each position once, all of them
  // within 5 s.
  struct Answers {
    std::atomic<int> count{0};
    std::mutex mu;
    std::set<std::uint64_t> positions;
    void record(std::uint64_t position) {
      std::lock_guard lock(mu);
      EXPECT_TRUE(positions.insert(position).second)
          << "position " << position << " answered twice";
      count.fetch_add(1);
    }
  };
  void expect_all_answered(const Answers& answers, int expected) {
    for (int i = 0; i < 500 && answers.count.load() < expected; ++i) {
      store_->wait_for(store_->head(), std::chrono::milliseconds(10));
    }
    EXPECT_EQ(answers.count.load(), expected);
  }

  TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(ConcurrencyTest, RacingOnOneStreamEachVersionIsWonExactlyOnce) {
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::vector<std::uint64_t> won_versions;
  std::atomic<int> clashes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      int done = 0;
      while (done < kPerThread) {
        auto last = store_->read_last("contested");
        ASSERT_TRUE(last.ok());
        std::uint64_t current = last->has_value() ? (*last)->stream_version : 0;
        auto r = store_->append(
            one_stream("contested", ExpectedVersion::exactly(current), {make_event()}));
        if (r.ok()) {
          std::lock_guard lock(mu);
          won_versions.push_back(r->stream_versions[0]);
          ++done;
        } else {
          ASSERT_EQ(r.error().code, kWrongExpectedVersion);
          clashes.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  const std::uint64_t total = kThreads * kPerThread;
  std::set<std::uint64_t> unique(won_versions.begin(), won_versions.end());
  EXPECT_EQ(won_versions.size(), total);
  EXPECT_EQ(unique.size(), total) << "a version was won twice";
  EXPECT_EQ(*unique.begin(), 1u);
  EXPECT_EQ(*unique.rbegin(), total);
  expect_dense_and_verified(total);
  auto stream = store_->read_stream("contested", 1, total + 1);
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(stream->size(), total);
}

TEST_F(ConcurrencyTest, RacingOnManyStreamsLosesNothing) {
  constexpr int kPerThread = 100;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e = make_event();
        ids[t].push_back(e.event_id);
        AppendRequest r;
        // Two streams per append: the thread's own, and one shared by all.
        r.streams.push_back({"own-" + std::to_string(t), ExpectedVersion::exactly(i), {e}});
        r.streams.push_back({"shared-" + std::to_string(i % 5), ExpectedVersion::any(),
                             {make_event("Shared")}});
        auto result = store_->append(std::move(r));
        ASSERT_TRUE(result.ok()) << result.error().message;
        ASSERT_EQ(result->stream_versions[0], static_cast<std::uint64_t>(i + 1));
      }
    });
  }
  for (auto& t : threads) t.join();

  expect_dense_and_verified(2u * kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    auto own = store_->read_stream("own-" + std::to_string(t), 1, 1000);
    ASSERT_TRUE(own.ok());
    ASSERT_EQ(own->size(), static_cast<std::size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) EXPECT_EQ((*own)[i].data.event_id, ids[t][i]);
  }
  std::size_t shared = 0;
  for (int s = 0; s < 5; ++s) {
    auto stream = store_->read_stream("shared-" + std::to_string(s), 1, 10000);
    ASSERT_TRUE(stream.ok());
    shared += stream->size();
  }
  EXPECT_EQ(shared, static_cast<std::size_t>(kThreads * kPerThread));
}

// Stream reads past a stream's end are answered from the store's memory of
// the versions it wrote: that must never hide an event. An appender reads its
// own append back at once, and tailing readers see every version in order.
TEST_F(ConcurrencyTest, StreamReadsRightAfterAppendsSeeThem) {
  constexpr int kPerThread = 100;
  constexpr int kWriters = kThreads - 2;
  std::atomic<bool> done{false};
  auto tail = [&](const std::string& stream, std::uint64_t& seen) {
    while (true) {
      const bool last_round = done.load();
      auto page = store_->read_stream(stream, seen + 1, 50);
      ASSERT_TRUE(page.ok());
      for (const auto& e : *page) ASSERT_EQ(e.stream_version, ++seen);
      if (last_round && page->empty()) return;
    }
  };
  std::uint64_t tailed[2] = {0, 0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) readers.emplace_back([&, r] { tail("shared-" + std::to_string(r), tailed[r]); });
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      const std::string own = "own-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        AppendRequest r;
        r.streams.push_back({own, ExpectedVersion::exactly(i), {make_event()}});
        r.streams.push_back({"shared-" + std::to_string(i % 2), ExpectedVersion::any(), {make_event("Shared")}});
        auto result = store_->append(std::move(r));
        ASSERT_TRUE(result.ok()) << result.error().message;
        auto back = store_->read_stream(own, static_cast<std::uint64_t>(i + 1), 10);
        ASSERT_TRUE(back.ok());
        ASSERT_EQ(back->size(), 1u) << own << " version " << i + 1 << " not readable after its append";
        auto past = store_->read_stream(own, static_cast<std::uint64_t>(i + 2), 10);
        ASSERT_TRUE(past.ok());
        ASSERT_TRUE(past->empty());
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(tailed[0] + tailed[1], static_cast<std::uint64_t>(kWriters * kPerThread));
  expect_dense_and_verified(2u * kWriters * kPerThread);
}

// Reads teach the store where streams end too, and a store that remembers
// few streams forgets them all the time: neither may hide an event. Each
// thread catches up with a stream as a write model does (read past what it
// knows), then appends on top of what it read; every version is won once
// and an appender reads its own event back at once.
TEST_F(ConcurrencyTest, StreamEndsLearntFromReadsNeverHideAnAppend) {
  constexpr int kStreams = 12;
  constexpr int kPerThread = 80;
  RocksDbOptions options;
  options.max_cached_streams = 4;
  auto opened = open_rocksdb_event_store(dir_.str("small-cache"), options);
  ASSERT_TRUE(opened.ok());
  auto& store = **opened;
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_TRUE(store
                    .append(one_stream("s-" + std::to_string(s), ExpectedVersion::no_stream(),
                                       {make_event()}))
                    .ok());
  }
  std::mutex mu;
  std::vector<std::set<std::uint64_t>> won(kStreams);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uint64_t> known(kStreams, 0);
      for (int i = 0; i < kPerThread; ++i) {
        const int s = (t + i) % kStreams;
        const std::string stream = "s-" + std::to_string(s);
        auto tail = store.read_stream(stream, known[s] + 1, 512);
        ASSERT_TRUE(tail.ok());
        for (const auto& e : *tail) ASSERT_EQ(e.stream_version, ++known[s]) << stream;
        auto r =
            store.append(one_stream(stream, ExpectedVersion::exactly(known[s]), {make_event()}));
        if (!r.ok()) {
          ASSERT_EQ(r.error().code, kWrongExpectedVersion);
          continue;
        }
        ASSERT_EQ(r->stream_versions[0], known[s] + 1);
        auto back = store.read_stream(stream, known[s] + 1, 512);
        ASSERT_TRUE(back.ok());
        ASSERT_FALSE(back->empty())
            << stream << " version " << known[s] + 1 << " hidden after its append";
        std::lock_guard lock(mu);
        EXPECT_TRUE(won[s].insert(r->stream_versions[0]).second) << "a version was won twice";
      }
    });
  }
  for (auto& t : threads) t.join();
  std::size_t total = kStreams;
  for (int s = 0; s < kStreams; ++s) {
    auto stream = store.read_stream("s-" + std::to_string(s), 1, 10000);
    ASSERT_TRUE(stream.ok());
    EXPECT_EQ(stream->size(), won[s].size() + 1);
    total += won[s].size();
  }
  EXPECT_EQ(store.head(), total);
  auto report = store.verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(ConcurrencyTest, ConcurrentRetriesOfOneAppendAppendItOnce) {
  auto e = make_event();
  std::vector<std::thread> threads;
  std::atomic<int> originals{0};
  std::atomic<int> duplicates{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto r = store_->append(one_stream("g", ExpectedVersion::no_stream(), {e}));
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->first_position, 1u);
      (r->duplicate ? duplicates : originals).fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(originals.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
  expect_dense_and_verified(1);
}

TEST_F(ConcurrencyTest, AsyncAndBlockingAppendsMixedAreEachAnsweredOnce) {
  constexpr int kPerThread = 60;
  Answers answers;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto request = one_stream("mixed-" + std::to_string(t), ExpectedVersion::any(),
                                  {make_event()});
        if (t % 2 == 0) {
          store_->append_async(std::move(request), [&](Result<AppendResult> r) {
            ASSERT_TRUE(r.ok()) << r.error().message;
            EXPECT_LE(r->last_position, store_->head()) << "answered before it was durable";
            answers.record(r->last_position);
          });
        } else {
          auto r = store_->append(std::move(request));
          ASSERT_TRUE(r.ok());
          answers.record(r->last_position);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  expect_all_answered(answers, 8 * kPerThread);
  expect_dense_and_verified(8u * kPerThread);
}

// What the HTTP API does with a command's append: take the written result
// at once (the thread goes on), answer from when_durable. Every append is
// readable as soon as append_written returns, and each callback comes once,
// after its position is durable.
TEST_F(ConcurrencyTest, WrittenAppendsAreReadableAtOnceAndCalledBackOnceDurable) {
  constexpr int kPerThread = 60;
  Answers answers;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "written-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        auto r =
            store_->append_written(one_stream(stream, ExpectedVersion::exactly(i), {make_event()}));
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_EQ(r->stream_versions[0], static_cast<std::uint64_t>(i + 1));
        auto back = store_->read_stream(stream, i + 1, 10);
        ASSERT_TRUE(back.ok());
        ASSERT_EQ(back->size(), 1u) << "a written append is not readable";
        const std::uint64_t position = r->last_position;
        store_->when_durable(position, [&, position](Result<void> durable) {
          EXPECT_TRUE(durable.ok());
          EXPECT_GE(store_->head(), position) << "called back before it was durable";
          answers.record(position);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  expect_all_answered(answers, kThreads * kPerThread);
  expect_dense_and_verified(kThreads * kPerThread);
}

TEST_F(ConcurrencyTest, ADurablePositionIsCalledBackAtOnceAndARefusalIsWrittenNowhere) {
  auto first = store_->append(one_stream("g", ExpectedVersion::no_stream(), {make_event()}));
  ASSERT_TRUE(first.ok());
  bool called = false;
  store_->when_durable(first->last_position, [&](Result<void> durable) {
    EXPECT_TRUE(durable.ok());
    called = true;
  });
  EXPECT_TRUE(called) << "a position already durable is called back on the calling thread";

  auto clash =
      store_->append_written(one_stream("g", ExpectedVersion::no_stream(), {make_event()}));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, kWrongExpectedVersion);
  auto invalid = store_->append_written(AppendRequest{});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, kInvalidAppend);
  EXPECT_EQ(store_->head(), 1u);
}

// A failed fsync: whether the events reached the disk is unknown, so every
// answer still held for them is the failure, and so is every later append.
// A position made durable before it was is still answered ok.
TEST_F(ConcurrencyTest, AFailedSyncAnswersEveryHeldCallbackWithTheFailure) {
  std::atomic<bool> fail{false};
  RocksDbOptions options;
  options.fail_sync_for_test = [&] { return fail.load(); };
  auto opened = open_rocksdb_event_store(dir_.str("failing"), options);
  ASSERT_TRUE(opened.ok());
  auto& store = **opened;
  auto synced = store.append(one_stream("g", ExpectedVersion::no_stream(), {make_event()}));
  ASSERT_TRUE(synced.ok());

  fail = true;
  constexpr int kHeld = 20;
  std::mutex mu;
  std::vector<Result<void>> outcomes;
  for (int i = 0; i < kHeld; ++i) {
    auto written =
        store.append_written(one_stream("g", ExpectedVersion::exactly(i + 1), {make_event()}));
    if (!written.ok()) {
      // The sync of an earlier one already failed: refused at once.
      EXPECT_EQ(written.error().code, kStorageError);
      std::lock_guard lock(mu);
      outcomes.push_back(written.error());
      continue;
    }
    store.when_durable(written->last_position, [&](Result<void> durable) {
      std::lock_guard lock(mu);
      outcomes.push_back(std::move(durable));
    });
  }
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu);
      if (outcomes.size() == kHeld) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kHeld))
      << "a held callback was never answered";
  for (const auto& outcome : outcomes) {
    ASSERT_FALSE(outcome.ok()) << "an append whose sync failed was answered as durable";
    EXPECT_EQ(outcome.error().code, kStorageError);
  }
  EXPECT_EQ(store.head(), synced->last_position);
  bool called = false;
  store.when_durable(synced->last_position, [&](Result<void> durable) {
    EXPECT_TRUE(durable.ok());
    called = true;
  });
  EXPECT_TRUE(called);
  auto later = store.append(one_stream("h", ExpectedVersion::any(), {make_event()}));
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, kStorageError);
}

TEST_F(ConcurrencyTest, AnAsyncRefusalIsAnsweredWithItsCode) {
  ASSERT_TRUE(store_->append(one_stream("g", ExpectedVersion::any(), {make_event()})).ok());
  std::promise<Error> refused;
  store_->append_async(one_stream("g", ExpectedVersion::no_stream(), {make_event()}),
                       [&](Result<AppendResult> r) {
                         ASSERT_FALSE(r.ok());
                         refused.set_value(r.error());
                       });
  auto future = refused.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get().code, kWrongExpectedVersion);
  std::promise<Error> invalid;
  store_->append_async(AppendRequest{}, [&](Result<AppendResult> r) {
    ASSERT_FALSE(r.ok());
    invalid.set_value(r.error());
  });
  EXPECT_EQ(invalid.get_future().get().code, kInvalidAppend);
  EXPECT_EQ(store_->head(), 1u);
}

TEST_F(ConcurrencyTest, ClosedLoopAsyncWritersChainTheirAppends) {
  // Each writer issues its next append from the completion of the last one,
  // as the HTTP server does; the chain of expected versions must hold.
  constexpr int kWriters = 16;
  constexpr int kEach = 30;
  std::atomic<int> finished{0};
  std::promise<void> all_done;
  std::function<void(int, int)> issue = [&](int w, int i) {
    store_->append_async(
        one_stream("chain-" + std::to_string(w), ExpectedVersion::exactly(i), {make_event()}),
        [&, w, i](Result<AppendResult> r) {
          ASSERT_TRUE(r.ok()) << r.error().message;
          EXPECT_EQ(r->stream_versions[0], static_cast<std::uint64_t>(i + 1));
          if (i + 1 < kEach) {
            issue(w, i + 1);
          } else if (finished.fetch_add(1) + 1 == kWriters) {
            all_done.set_value();
          }
        });
  };
  for (int w = 0; w < kWriters; ++w) issue(w, 0);
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  expect_dense_and_verified(kWriters * kEach);
}

}  // namespace
}  // namespace latchkey::eventstore
