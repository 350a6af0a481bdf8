// The heap trimmer (app/heap.cpp): free chunks between live ones, which the
// heap cannot shrink past, go back to the system within its period.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "heap.hpp"

namespace latchkey::app {
namespace {

TEST(HeapTrimmer, FreedChunksBetweenLiveOnesGoBackToTheSystem) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's malloc; the release build runs this";
#else
  constexpr std::size_t kBlock = 1u << 20;  // a RocksDB memtable arena block
  constexpr int kBlocks = 64;
  // glibc maps the first large block, and once it is freed takes the later
  // ones from the heap: a memtable's blocks after the first flush.
  char* volatile first = static_cast<char*>(std::malloc(kBlock));
  std::memset(first, 1, kBlock);
  std::free(first);
  std::vector<char*> blocks, live;
  for (int i = 0; i < kBlocks; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    std::memset(blocks.back(), 1, kBlock);
    live.push_back(static_cast<char*>(std::malloc(64)));  // keeps the block from the heap's top
  }
  const std::size_t in_use = resident_bytes();
  for (char* block : blocks) std::free(block);
  const std::size_t freed = resident_bytes();
  EXPECT_GT(freed, in_use - kBlocks * kBlock / 4) << "glibc keeps them: nothing to test otherwise";

  HeapTrimmer trimmer(std::chrono::milliseconds(50));
  std::size_t trimmed = freed;
  for (int i = 0; i < 100 && trimmed > freed - kBlocks * kBlock / 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    trimmed = resident_bytes();
  }
  EXPECT_LT(trimmed, freed - kBlocks * kBlock / 2) << "most of the 64 MiB freed went back";
  for (char* small : live) std::free(small);
#endif
}

}  // namespace
}  // namespace latchkey::app
