// The C heap of a long-running server (glibc malloc): its free pages go
// back to the system now and then.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace latchkey::app {

// Every `period`, on a thread of its own, gives the pages of the heap's free
// chunks back to the system (malloc_trim). Stops when destroyed.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds period);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

// The process's resident set now, in bytes (/proc/self/statm).
std::size_t resident_bytes();

}  // namespace latchkey::app
