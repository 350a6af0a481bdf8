// The read models' store on a real RocksDB: lookups in a large table file
// find its index and filter in the block cache, however large the file.
#include <gtest/gtest.h>
#include <rocksdb/iostats_context.h>
#include <rocksdb/perf_level.h>

#include <cstdio>
#include <string>

#include "latchkey/projections/read_model_db.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::testing {
namespace {

std::string key(int i, char last) {
  char text[32];
  std::snprintf(text, sizeof text, "rows/%07d%c", i, last);
  return text;
}

TEST(ReadModelDb, LookupsInALargeTableReadItsFilterFromTheCacheNotTheFile) {
  TempDir dir;
  auto opened = projections::open_read_model_db(dir.str("readmodels"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& db = **opened;
  // A million rows in one table file (a commit this large is ingested as
  // one): its filter as one block would be ~1.2 MiB, more than one shard of
  // the block cache holds.
  auto writes = db.begin();
  for (int i = 0; i < 1'000'000; ++i) writes->put(key(i, '0'), "v");
  ASSERT_TRUE(db.commit(*writes).ok());

  // Rows that do not exist, inside the file's key range: the filter answers.
  auto look_up_absent_rows = [&] {
    for (int i = 0; i < 1'000'000; i += 10'000) {
      auto row = db.get(key(i, '5'));
      ASSERT_TRUE(row.ok());
      EXPECT_FALSE(row->has_value());
    }
  };
  look_up_absent_rows();  // reads the filter's and the index's parts they need
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_iostats_context()->Reset();
  look_up_absent_rows();
  const auto bytes_read = rocksdb::get_iostats_context()->bytes_read;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  EXPECT_LT(bytes_read, 64u << 10) << "the same lookups again read the file (a filter too large to cache?)";
}

}  // namespace
}  // namespace latchkey::testing
