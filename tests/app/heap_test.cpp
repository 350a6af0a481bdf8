// The heap's settings (app/heap.cpp): large blocks go back to the system
// when freed, however many have been freed before.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "heap.hpp"

namespace latchkey::app {
namespace {

TEST(Heap, EveryLargeBlockIsMappedOnItsOwnAndUnmappedWhenFreed) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's malloc; the release build runs this";
#else
  configure_heap();
  constexpr std::size_t kBlock = 1u << 20;  // a RocksDB memtable arena block
  // By default glibc maps the first such block, then raises its threshold
  // past it when it is freed and carves the next ones from the heap.
  for (int round = 0; round < 3; ++round) {
    const std::size_t mapped_before = mallinfo2().hblkhd;
    char* volatile block = static_cast<char*>(std::malloc(kBlock));
    ASSERT_NE(block, nullptr);
    std::memset(block, round, kBlock);
    EXPECT_GE(mallinfo2().hblkhd, mapped_before + kBlock) << "round " << round << ": mapped on its own";
    std::free(block);
    EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "round " << round << ": unmapped when freed";
  }
#endif
}

}  // namespace
}  // namespace latchkey::app
