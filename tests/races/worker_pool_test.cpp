// The worker pool wakes a sleeping worker only when none is already on its
// way: no job may be left queued while workers sleep, and a burst must still
// reach as many workers as it has jobs.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "worker_pool.hpp"

namespace latchkey::testing {
namespace {

using namespace std::chrono_literals;

// Waits up to `limit` for `done()`; false if it never came.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(WorkerPool, RunsEveryJobSubmittedFromManyThreadsInBursts) {
  app::WorkerPool pool("test", 3, 1u << 20);
  std::atomic<int> ran{0};
  constexpr int kSubmitters = 4, kBursts = 200, kPerBurst = 25;
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&, s] {
      for (int b = 0; b < kBursts; ++b) {
        for (int j = 0; j < kPerBurst; ++j) ASSERT_TRUE(pool.try_submit([&] { ++ran; }));
        // Now and then long enough for every worker to fall asleep.
        if ((b + s) % 7 == 0) std::this_thread::sleep_for(2ms);
      }
    });
  }
  for (auto& t : submitters) t.join();
  constexpr int kTotal = kSubmitters * kBursts * kPerBurst;
  EXPECT_TRUE(eventually([&] { return ran.load() == kTotal; }))
      << ran.load() << " of " << kTotal << " jobs ran: some were left queued";
}

TEST(WorkerPool, ABurstOfJobsWakesAsManySleepingWorkers) {
  constexpr int kWorkers = 4;
  app::WorkerPool pool("test", kWorkers, 64);
  for (int round = 0; round < 50; ++round) {
    // Every worker asleep, then kWorkers jobs in a row, each of which only
    // finishes once all of them run at the same time.
    ASSERT_TRUE(eventually([&] { return pool.busy() == 0 && pool.queued() == 0; }));
    std::this_thread::sleep_for(2ms);
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
    std::atomic<int> met{0};
    for (int j = 0; j < kWorkers; ++j) {
      ASSERT_TRUE(pool.try_submit([&] {
        std::unique_lock lock(mu);
        ++arrived;
        cv.notify_all();
        if (cv.wait_for(lock, 10s, [&] { return arrived == kWorkers; })) ++met;
      }));
    }
    ASSERT_TRUE(eventually([&] { return pool.busy() == 0 && pool.queued() == 0; }, 30s));
    ASSERT_EQ(met.load(), kWorkers) << "round " << round << ": the burst did not reach every worker";
  }
}

TEST(WorkerPool, RefusesWhenTheQueueIsFullAndRunsWhatWasQueuedOnStop) {
  app::WorkerPool pool("test", 1, 2);
  std::mutex gate;
  std::unique_lock hold(gate);
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_submit([&] { std::lock_guard pass(gate); ++ran; }));
  ASSERT_TRUE(eventually([&] { return pool.busy() == 1; }));
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_FALSE(pool.try_submit([&] { ++ran; })) << "a third queued job went past the limit of 2";
  hold.unlock();
  pool.stop();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(pool.try_submit([&] { ++ran; })) << "a stopped pool took a job";
}

// A pool's nice value counts from its creator's, as nice(1) does, up to 19;
// the creating thread keeps its own.
TEST(WorkerPool, RunsItsThreadsNiceStepsBelowItsCreator) {
  const int own = ::getpriority(PRIO_PROCESS, 0);
  for (const int nice : {0, 3, 19}) {
    std::vector<int> seen;
    std::mutex mutex;  // outlives the pool, whose stop runs what is queued
    {
      app::WorkerPool pool("test", 2, 8, nice);
      for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(pool.try_submit([&] {
          const int value = ::getpriority(PRIO_PROCESS, 0);
          std::lock_guard lock(mutex);
          seen.push_back(value);
        }));
      }
    }  // stop: every job has run
    EXPECT_EQ(seen, std::vector<int>(2, std::min(own + nice, 19))) << "nice " << nice;
    EXPECT_EQ(::getpriority(PRIO_PROCESS, 0), own);
  }
}

}  // namespace
}  // namespace latchkey::testing
