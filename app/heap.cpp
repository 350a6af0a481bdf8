#include "heap.hpp"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

#include <fstream>

namespace latchkey::app {

// Why: RocksDB builds its memtables from 1 MiB blocks and frees them at each
// flush. glibc raises its mmap threshold past the first such block freed, so
// the later ones come from the heap's arenas, and freed they stay resident
// until something trims them: under the soak's mixed load ~40 MiB of free
// heap (mallinfo2's fordblks), and a high-water mark that crept up whenever
// the two stores' memtables happened to peak together. Fixing the threshold
// below 1 MiB (mallopt) kept that memory away but cost the reset-request
// benchmark ~15% (each block then mapped, faulted in and unmapped); a trim
// every 30 s costs a few milliseconds on this thread and the pages faulting
// back in once.
HeapTrimmer::HeapTrimmer(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    pthread_setname_np(pthread_self(), "lk-heap-trim");
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      ::malloc_trim(0);
      lock.lock();
    }
  });
}

HeapTrimmer::~HeapTrimmer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace latchkey::app
