// A fixed pool of worker threads with a bounded queue, for work that must not
// run on an I/O thread (Argon2id, durable appends, read-your-writes waits).
// When the queue is full, try_submit refuses at once, so the server can
// answer 503 with Retry-After instead of queueing without bound.
#pragma once

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace latchkey::app {

class WorkerPool {
 public:
  // `nice` above 0 runs the threads that many steps below the process's
  // priority (as nice(1) does, at most nice 19): when the cores are busy, the
  // scheduler gives them less of the time and usually lets other threads run
  // first (app/config.hpp says why the hash pool does). Should the system
  // refuse, the pool logs a warning and runs at its creator's priority.
  WorkerPool(std::string name, std::size_t threads, std::size_t queue_limit, int nice = 0)
      : name_(std::move(name)), queue_limit_(queue_limit), thread_count_(threads) {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, nice] {
        // On Linux a nice value belongs to the thread, not the process; 0
        // names the calling thread, which starts at its creator's value.
        // (Before the name: a thread seen by its name has its priority.)
        if (nice > 0) {
          errno = 0;
          const int inherited = ::getpriority(PRIO_PROCESS, 0);
          if (errno != 0 || ::setpriority(PRIO_PROCESS, 0, std::min(inherited + nice, 19)) != 0) {
            spdlog::warn("the {} pool runs at the process's priority: setpriority failed (errno {})",
                         name_, errno);
          }
        }
        pthread_setname_np(pthread_self(), ("lk-" + name_).substr(0, 15).c_str());  // lk-hash, lk-command
        work();
      });
    }
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is stopping. Wakes a sleeping
  // worker only if none is on its way already: a worker that wakes runs the
  // queue until it is empty, so jobs submitted in a row (the answers one
  // fsync releases) cost one futex wake, not one each.
  bool try_submit(std::function<void()> job) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= queue_limit_) return false;
      queue_.push_back(std::move(job));
      if (sleeping_ > waking_) {
        ++waking_;
        wake = true;
      }
    }
    if (wake) ready_.notify_one();
    return true;
  }

  // Runs what is queued, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  std::size_t busy() const {
    std::lock_guard lock(mutex_);
    return busy_;
  }
  std::size_t threads() const { return thread_count_; }
  const std::string& name() const { return name_; }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        while (!stopping_ && queue_.empty()) {
          ++sleeping_;
          ready_.wait(lock);
          --sleeping_;
          if (waking_ > 0) --waking_;
        }
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
      }
      job();
      std::lock_guard lock(mutex_);
      --busy_;
    }
  }

  std::string name_;
  std::size_t queue_limit_;
  std::size_t thread_count_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::size_t busy_ = 0;
  std::size_t sleeping_ = 0;  // workers waiting for a job
  std::size_t waking_ = 0;    // of those, notified and not yet awake
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace latchkey::app
