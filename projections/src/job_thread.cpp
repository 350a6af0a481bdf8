// JobThread, and destroy_later on one of them (started on first use, living
// until the program ends).
#include "job_thread.hpp"

#include <malloc.h>
#include <pthread.h>

#include <memory>

#include "latchkey/projections/projection.hpp"

namespace latchkey::projections {

JobThread::JobThread(const char* name)
    : thread_([this, name] {
        pthread_setname_np(pthread_self(), name);
        run();
      }) {}

JobThread::~JobThread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  more_.notify_one();
  thread_.join();  // after every job handed over has run
}

void JobThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  more_.notify_one();
}

void JobThread::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void JobThread::run() {
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

namespace {

JobThread& disposer() {
  static JobThread thread("lk-dispose");
  return thread;
}

}  // namespace

void destroy_later(std::shared_ptr<void> garbage) {
  if (garbage) disposer().post([garbage = std::move(garbage)] {});
}

void release_memory_later() { disposer().post([] { ::malloc_trim(0); }); }

void wait_for_destroyed() { disposer().wait_idle(); }

}  // namespace latchkey::projections
