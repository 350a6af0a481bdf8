// destroy_later: one thread, started on first use, that destroys what it is
// handed in the order handed, and gives freed memory back to the system when
// asked. Lives until the program ends (its destructor drains the queue).
#include <malloc.h>
#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "latchkey/projections/projection.hpp"

namespace latchkey::projections {
namespace {

class Disposer {
 public:
  Disposer()
      : thread_([this] {
          pthread_setname_np(pthread_self(), "lk-dispose");
          run();
        }) {}
  ~Disposer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    more_.notify_one();
    thread_.join();
  }

  void add(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    more_.notify_one();
  }

  void wait_idle() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      more_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      lock.unlock();
      job();
      job = nullptr;  // what it held is destroyed here, on this thread
      lock.lock();
      busy_ = false;
      if (jobs_.empty()) idle_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable more_, idle_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

Disposer& disposer() {
  static Disposer d;
  return d;
}

}  // namespace

void destroy_later(std::shared_ptr<void> garbage) {
  if (garbage) disposer().add([garbage = std::move(garbage)] {});
}

void release_memory_later() { disposer().add([] { ::malloc_trim(0); }); }

void wait_for_destroyed() { disposer().wait_idle(); }

}  // namespace latchkey::projections
