// The write-model cache: after a commit, a cached model moves forward by the
// events just written (WriteModels::advance) instead of reading them back.
// Whatever the cache went through, a load must equal a fresh fold of the
// stream from the log, and a snapshot a command holds never changes under it.
#include "write_path.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "support/event_ids.hpp"
#include "latchkey/domain/streams.hpp"

namespace latchkey::commands {
namespace {

using testing::Harness;

struct Scene {
  Harness h;
  std::string guardian_id;
  std::string stream;
  Ports ports{h.clock, h.random, h.hasher, h.tokens};

  Scene() {
    h.given_tenant();
    guardian_id = h.given_guardian();
    stream = domain::streams::guardian(h.tenant_id, guardian_id);
  }

  // Appends one event through `models` at the version its cache loads.
  Result<eventstore::AppendResult> decide(WriteModels& models, domain::DomainEvent event) {
    auto loaded = models.load<domain::GuardianState>(stream);
    if (!loaded) return loaded.error();
    Transaction tx;
    tx.append(stream, loaded->expected(), std::move(event));
    return commit(models, h.staff(), ports, tx);
  }

  // A load through `models` equals a fold of the stream from the log.
  void expect_current(WriteModels& models) {
    auto loaded = models.load<domain::GuardianState>(stream);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->version, (*h.store->read_last(stream))->stream_version);
    EXPECT_TRUE(loaded->state() == h.guardian_state(guardian_id));
  }
};

// One event of each kind that changes a guardian's login state, each recorded
// at a later time (the fold keeps the times: last login, lockout, expiries).
std::vector<domain::DomainEvent> history(const std::string& g) {
  const domain::Micros hour = 3600 * domain::kMicrosPerSecond;
  const domain::Micros t0 = 1'763'900'000'000'000;
  return {
      domain::ResetRequested{g, "reset-1", "email", "a***@example.com", std::string(64, 'a'), t0 + hour,
                             "staff"},
      domain::ResetRequested{g, "reset-2", "email", "a***@example.com", std::string(64, 'b'), t0 + 2 * hour,
                             "staff"},
      domain::LoginFailed{g, "no_password", 1},
      domain::LoginSucceeded{g, "session-1", std::string(64, 'c'), t0 + 24 * hour, "ana@example.com", true,
                             "password"},
      domain::LoginSucceeded{g, "session-2", std::string(64, 'd'), t0 + 25 * hour, "ana@example.com", false,
                             "password"},
      domain::SessionEnded{g, "session-1", "logout"},
      domain::AccountLockedOut{g, t0 + hour},
  };
}

TEST(WriteModels, ACachedModelMovesForwardWithItsOwnCommitsAndEqualsTheLog) {
  Scene s;
  WriteModels models(*s.h.store);
  for (auto& event : history(s.guardian_id)) {
    s.h.clock.advance_seconds(61);
    auto r = s.decide(models, event);
    ASSERT_TRUE(r.ok()) << r.error().message;
    s.expect_current(models);
  }
}

TEST(WriteModels, ACommitMintsTimeOrderedEventIds) {
  Scene s;
  WriteModels models(*s.h.store);
  for (auto& event : history(s.guardian_id)) {
    s.h.clock.advance_seconds(61);
    ASSERT_TRUE(s.decide(models, event).ok());
    const auto last = *s.h.store->read_last(s.stream);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->data.event_id.substr(0, 15), testing::uuid_v7_prefix(last->data.recorded_at_us));
    EXPECT_EQ(last->data.recorded_at_us, s.h.clock.now_us());
  }
}

TEST(WriteModels, ACommitThroughAnotherCacheLeavesThisOneToCatchUpFromTheLog) {
  Scene s;
  WriteModels mine(*s.h.store);
  WriteModels theirs(*s.h.store);
  auto events = history(s.guardian_id);
  for (std::size_t i = 0; i < events.size(); ++i) {
    s.h.clock.advance_seconds(61);
    // Alternate writers, so each cache is sometimes one or more versions behind.
    auto r = s.decide(i % 3 == 0 ? theirs : mine, events[i]);
    ASSERT_TRUE(r.ok()) << r.error().message;
    s.expect_current(mine);
    s.expect_current(theirs);
  }
}

TEST(WriteModels, AStaleDecisionIsRefusedAndTheCacheStaysTrue) {
  Scene s;
  WriteModels mine(*s.h.store);
  WriteModels theirs(*s.h.store);
  auto stale = mine.load<domain::GuardianState>(s.stream);
  ASSERT_TRUE(stale.ok());
  auto events = history(s.guardian_id);
  ASSERT_TRUE(s.decide(theirs, events[0]).ok());

  Transaction tx;
  tx.append(s.stream, stale->expected(), events[1]);
  auto r = commit(mine, s.h.staff(), s.ports, tx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, eventstore::kWrongExpectedVersion);
  s.expect_current(mine);
  s.expect_current(theirs);
}

TEST(WriteModels, AHeldSnapshotDoesNotChangeWhenTheStreamMovesOn) {
  Scene s;
  WriteModels models(*s.h.store);
  auto events = history(s.guardian_id);
  ASSERT_TRUE(s.decide(models, events[0]).ok());
  auto held = models.load<domain::GuardianState>(s.stream);
  ASSERT_TRUE(held.ok());
  const domain::GuardianState before = held->state();
  const std::uint64_t version = held->version;

  for (std::size_t i = 1; i < events.size(); ++i) {
    s.h.clock.advance_seconds(61);
    ASSERT_TRUE(s.decide(models, events[i]).ok());
    s.expect_current(models);
    EXPECT_TRUE(held->state() == before) << "after event " << i;
    EXPECT_EQ(held->version, version);
  }
}

TEST(WriteModels, ACommitNobodyElseHoldsIsFoldedIntoTheCachedModelWithoutACopy) {
  Scene s;
  WriteModels models(*s.h.store);
  auto events = history(s.guardian_id);
  ASSERT_TRUE(s.decide(models, events[0]).ok());
  const domain::GuardianState* cached = nullptr;
  {
    auto loaded = models.load<domain::GuardianState>(s.stream);
    ASSERT_TRUE(loaded.ok());
    cached = &loaded->state();
  }
  for (std::size_t i = 1; i < events.size(); ++i) {
    s.h.clock.advance_seconds(61);
    ASSERT_TRUE(s.decide(models, events[i]).ok());
    auto loaded = models.load<domain::GuardianState>(s.stream);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(&loaded->state(), cached) << "event " << i << " was folded into a copy";
    EXPECT_TRUE(loaded->state() == s.h.guardian_state(s.guardian_id));
  }
}

TEST(WriteModels, ConcurrentCommandsOnOneStreamKeepEverySnapshotAndTheCacheTrue) {
  Scene s;
  WriteModels models(*s.h.store);
  constexpr int kThreads = 4;
  constexpr int kDecisionsPerThread = 40;
  const std::uint64_t start = (*s.h.store->read_last(s.stream))->stream_version;
  const CommandContext staff = s.h.staff();
  std::atomic<int> changed_under_a_holder{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDecisionsPerThread; ++i) {
        for (;;) {
          auto loaded = models.load<domain::GuardianState>(s.stream);
          if (!loaded) return;
          const domain::GuardianState before = loaded->state();
          Transaction tx;
          tx.append(s.stream, loaded->expected(),
                    domain::LoginFailed{s.guardian_id, "wrong_password", t * 1000 + i});
          auto r = commit(models, staff, s.ports, tx);
          if (!(loaded->state() == before)) ++changed_under_a_holder;
          if (r.ok()) break;
          if (r.error().code != eventstore::kWrongExpectedVersion) return;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(changed_under_a_holder.load(), 0);
  s.expect_current(models);
  auto loaded = models.load<domain::GuardianState>(s.stream);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->version, start + kThreads * kDecisionsPerThread);
}

}  // namespace
}  // namespace latchkey::commands
