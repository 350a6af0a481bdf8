// A named thread that runs the jobs handed to it one at a time, in the order
// handed over, for as long as it lives: its destructor runs what is still
// queued, then joins. (The read-model committer; the disposer of caches.)
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace latchkey::projections {

class JobThread {
 public:
  explicit JobThread(const char* name);
  ~JobThread();
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  void post(std::function<void()> job);
  // Waits until every job posted so far has run (and what it held is destroyed).
  void wait_idle();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable more_, idle_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace latchkey::projections
