// The event store on a real RocksDB: reads in a compacted table file whose
// index and filter are larger than a shard of the block cache find them in
// the cache, not in the file, when asked again. (Cached as whole blocks, an
// index or a filter too large for a shard is read from the file on every
// lookup: a large log's streams index and event-id filter grow with its
// compacted files, up to 64 MB each.)
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "rocksdb_event_store.hpp"
#include "support/event_factory.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::eventstore {
namespace {

using latchkey::testing::make_event;
using latchkey::testing::TempDir;

// Stream ids as the server names them: a long common prefix, then an id
// that spreads them over the whole key range.
std::string stream_id(std::uint64_t i) {
  std::uint64_t x = i * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  char text[80];
  std::snprintf(text, sizeof text, "guardian:sunny-days-after-school-club:%016llx-%07llu",
                static_cast<unsigned long long>(x), static_cast<unsigned long long>(i));
  return text;
}

// Compacts every column family into the last level, as a long-running
// store's older files are: the level where nothing is pinned in the cache.
void compact_to_the_last_level(const std::string& path, const RocksDbOptions& options) {
  auto [db_options, families] = rocksdb_layout(options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, path, families, &handles, &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles) {
    s = db->CompactRange(compact, h, nullptr, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  for (auto* h : handles) {
    std::string level0;
    EXPECT_TRUE(db->GetProperty(h, "rocksdb.num-files-at-level0", &level0));
    EXPECT_EQ(level0, "0") << h->GetName();
    db->DestroyColumnFamilyHandle(h);
  }
}

TEST(EventStoreTableCache, ReadsAgainFindTheIndexAndFilterInTheCache) {
  TempDir dir;
  RocksDbOptions options;
  // One shard of 128 KiB (RocksDB shards a cache in parts of at least
  // 512 KiB): the stand-in for the server's 512 KiB shards and a log whose
  // files are a hundred times this one's. Its streams index (~140 KB) and
  // event-id filter (~250 KB) are each larger than the shard.
  options.block_cache_bytes = 128u << 10;
  options.memtable_budget_bytes = 1u << 30;  // one table file per family, written at close
  options.sync = false;
  constexpr std::uint64_t kStreams = 200'000;
  constexpr std::uint64_t kBatch = 1000;
  constexpr std::uint64_t kLookedUp = 100'007;
  EventData kept;  // the looked-up stream's event, to append again
  {
    auto opened = open_rocksdb_event_store(dir.str("db"), options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto& store = **opened;
    for (std::uint64_t first = 0; first < kStreams; first += kBatch) {
      AppendRequest request;
      for (std::uint64_t i = first; i < first + kBatch; ++i) {
        request.streams.push_back({stream_id(i), ExpectedVersion::no_stream(), {make_event("Noted", "{}")}});
        if (i == kLookedUp) kept = request.streams.back().events.front();
      }
      ASSERT_TRUE(store.append(std::move(request)).ok());
    }
  }
  ASSERT_NO_FATAL_FAILURE(compact_to_the_last_level(dir.str("db"), options));
  auto opened = open_rocksdb_event_store(dir.str("db"), options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& store = **opened;

  // A stream's events (the streams index, then the log's), and its event
  // appended again (the event-id filter finds it stored: nothing is
  // written). The parts of indexes and filter this needs, with its data
  // blocks, take ~70 KiB of the cache; the streams index or the filter
  // whole would not fit at all.
  auto look_up = [&] {
    auto events = store.read_stream(stream_id(kLookedUp), 1, 10);
    ASSERT_TRUE(events.ok()) << events.error().message;
    ASSERT_EQ(events->size(), 1u);
    AppendRequest again;
    again.streams.push_back({stream_id(kLookedUp), ExpectedVersion::any(), {kept}});
    auto result = store.append(std::move(again));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->stream_versions.front(), 1u);
  };
  ASSERT_NO_FATAL_FAILURE(look_up());  // reads the parts it needs from the file
  const auto head = store.head();
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  ASSERT_NO_FATAL_FAILURE(look_up());
  // (The counters are this thread's: the store reads, and checks event ids,
  // on the caller's thread. The hits show they counted this pass at all.)
  const auto& perf = *rocksdb::get_perf_context();
  const auto index_reads = perf.index_block_read_count;
  const auto filter_reads = perf.filter_block_read_count;
  const auto index_hits = perf.block_cache_index_hit_count;
  const auto filter_hits = perf.block_cache_filter_hit_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_EQ(store.head(), head);
  EXPECT_GT(index_hits, 0u) << "the pass found no index block in the cache: did it count at all?";
  EXPECT_GT(filter_hits, 0u) << "the pass consulted no filter: did it count at all?";
  EXPECT_EQ(index_reads, 0u) << "the same lookups again read index blocks from the file";
  EXPECT_EQ(filter_reads, 0u) << "the same lookups again read filter blocks from the file";
}

}  // namespace
}  // namespace latchkey::eventstore
