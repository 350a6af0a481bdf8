// The write-ahead log starts in a prepared (already written) file: the file
// system wrapper on its own, and a store that writes through it. Recovery
// from a WAL with a zero-filled tail after a kill is the crash test's job
// (it runs with the default options, so with prepared files).
#include "prepared_wal.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/event_factory.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::eventstore {
namespace {

using latchkey::testing::make_event;
using latchkey::testing::one_stream;
using latchkey::testing::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::size_t kPrepared = 256u << 10;

std::string prepared_path(const TempDir& dir) { return dir.str("latchkey-prepared.wal"); }

bool all_zero(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char c;
  while (in.get(c)) {
    if (c != 0) return false;
  }
  return true;
}

// The background preparer's work shows as the prepared file reappearing.
bool prepared_within(const TempDir& dir, std::size_t bytes, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  std::error_code ec;
  while (std::chrono::steady_clock::now() < until) {
    if (fs::file_size(prepared_path(dir), ec) == bytes && !ec) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::uintmax_t new_file(PreparedWalFileSystem& wal_fs, const std::string& path) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  EXPECT_TRUE(wal_fs.NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr).ok()) << path;
  EXPECT_TRUE(file->Close(rocksdb::IOOptions(), nullptr).ok());
  return fs::file_size(path);
}

TEST(PreparedWal, OnlyWriteAheadLogsTakeThePreparedFileAndEachTakeStartsTheNext) {
  TempDir dir;
  PreparedWalFileSystem wal_fs(dir.str(), kPrepared);
  ASSERT_TRUE(wal_fs.start().ok());
  ASSERT_EQ(fs::file_size(prepared_path(dir)), kPrepared);
  EXPECT_TRUE(all_zero(prepared_path(dir)));

  // Not a WAL: created empty, the prepared file stays.
  for (const char* name : {"MANIFEST-000005", "000009.sst", "LOG", "OPTIONS-000007", "x.log"}) {
    EXPECT_EQ(new_file(wal_fs, dir.str(name)), 0u) << name;
  }
  EXPECT_TRUE(fs::exists(prepared_path(dir)));

  // A WAL: it is the prepared file, renamed; a new one is prepared behind it.
  std::unique_ptr<rocksdb::FSWritableFile> wal;
  ASSERT_TRUE(wal_fs.NewWritableFile(dir.str("000012.log"), rocksdb::FileOptions(), &wal, nullptr).ok());
  EXPECT_EQ(fs::file_size(dir.str("000012.log")), kPrepared);
  // Appends overwrite it from the start; the file does not grow.
  ASSERT_TRUE(wal->Append("record", rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(wal->Sync(rocksdb::IOOptions(), nullptr).ok());
  EXPECT_EQ(fs::file_size(dir.str("000012.log")), kPrepared);
  std::ifstream in(dir.str("000012.log"), std::ios::binary);
  std::string head(6, '\0');
  in.read(head.data(), 6);
  EXPECT_EQ(head, "record");
  EXPECT_TRUE(prepared_within(dir, kPrepared, 10s));

  // Once stopped (a closing store), WALs are plain and the prepared file is kept.
  wal_fs.stop();
  EXPECT_EQ(new_file(wal_fs, dir.str("000013.log")), 0u);
  EXPECT_EQ(fs::file_size(prepared_path(dir)), kPrepared);
}

TEST(PreparedWal, StartReplacesAHalfWrittenOrWronglySizedFile) {
  TempDir dir;
  std::ofstream(dir.str("latchkey-prepared.wal.partial")) << "half";
  std::ofstream(prepared_path(dir)) << std::string(1000, 'x');
  PreparedWalFileSystem wal_fs(dir.str(), kPrepared);
  ASSERT_TRUE(wal_fs.start().ok());
  EXPECT_FALSE(fs::exists(dir.str("latchkey-prepared.wal.partial")));
  ASSERT_EQ(fs::file_size(prepared_path(dir)), kPrepared);
  EXPECT_TRUE(all_zero(prepared_path(dir)));
}

TEST(PreparedWal, AStoreWritesItsLogIntoPreparedFilesAndReadsItBack) {
  TempDir dir;
  RocksDbOptions options;
  options.wal_prepared_bytes = kPrepared;
  constexpr int kAppends = 300;  // ~150 KiB of log: within the prepared size
  {
    auto store = open_rocksdb_event_store(dir.str(), options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    int wals = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      if (entry.path().extension() == ".log") {
        ++wals;
        EXPECT_EQ(entry.file_size(), kPrepared) << entry.path();
      }
    }
    EXPECT_EQ(wals, 1);
    for (int i = 0; i < kAppends; ++i) {
      ASSERT_TRUE((*store)->append(one_stream("s-" + std::to_string(i % 7), ExpectedVersion::any(),
                                              {make_event("GuardianAdded", std::string(400, 'p'))}))
                      .ok());
    }
    EXPECT_TRUE(prepared_within(dir, kPrepared, 10s));
  }
  auto store = open_rocksdb_event_store(dir.str(), options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->head(), static_cast<std::uint64_t>(kAppends));
  auto report = (*store)->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

std::vector<std::string> wal_files(const TempDir& dir) {
  std::vector<std::string> wals;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".log") wals.push_back(entry.path().filename());
  }
  return wals;
}

// Every new WAL takes a prepared file, so WAL files should be few: the log's
// column families flush together, and a flush leaves one live WAL. (Flushed
// one at a time, the oldest first, each flush started a WAL of its own and
// the older ones stayed until every family had flushed past them.)
TEST(PreparedWal, TheColumnFamiliesFlushTogetherLeavingOneLiveLog) {
  TempDir dir;
  RocksDbOptions options;
  options.wal_prepared_bytes = kPrepared;
  options.memtable_budget_bytes = 1u << 20;
  auto store = open_rocksdb_event_store(dir.str(), options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  constexpr int kAppends = 1000;  // ~3 MiB of events and their index keys: several flushes
  for (int i = 0; i < kAppends; ++i) {
    ASSERT_TRUE((*store)->append(one_stream("s-" + std::to_string(i % 50), ExpectedVersion::any(),
                                            {make_event("GuardianAdded", std::string(3000, 'p'))}))
                    .ok());
  }
  // Flushes run in the background: the log count settles once they are done.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (wal_files(dir).size() > 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(wal_files(dir).size(), 1u) << ::testing::PrintToString(wal_files(dir));
  // And nothing was lost by flushing.
  EXPECT_EQ((*store)->head(), static_cast<std::uint64_t>(kAppends));
  auto report = (*store)->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

TEST(PreparedWal, ALogThatOutgrowsItsPreparedFileGrowsAsUsual) {
  TempDir dir;
  RocksDbOptions options;
  options.wal_prepared_bytes = 16u << 10;
  constexpr int kAppends = 200;  // ~100 KiB of log: six times the prepared size
  {
    auto store = open_rocksdb_event_store(dir.str(), options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    for (int i = 0; i < kAppends; ++i) {
      ASSERT_TRUE((*store)->append(one_stream("s", ExpectedVersion::exactly(static_cast<std::uint64_t>(i)),
                                              {make_event("GuardianAdded", std::string(400, 'p'))}))
                      .ok());
    }
  }
  auto store = open_rocksdb_event_store(dir.str(), options);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->head(), static_cast<std::uint64_t>(kAppends));
  auto events = (*store)->read_stream("s", 1, 1000);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), static_cast<std::size_t>(kAppends));
  auto report = (*store)->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

}  // namespace
}  // namespace latchkey::eventstore
