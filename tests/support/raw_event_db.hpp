// The raw RocksDB database behind an event store, opened as an attacker with
// disk access would, to alter events behind the store's back. Needs the
// event store's private headers (eventstore/src) on the include path.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "record_codec.hpp"

namespace latchkey::testing {

// Opens the raw database behind the store, as an attacker with disk access would.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {"default", "events", "streams", "event_ids", "outbox", "meta"}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  static std::string key(std::uint64_t position) { return eventstore::codec::position_key(position); }
  std::string get(std::uint64_t position) {
    std::string v;
    EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), handles_[1], key(position), &v).ok());
    return v;
  }
  void put(std::uint64_t position, const std::string& value) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), handles_[1], key(position), value).ok());
  }
  void erase(std::uint64_t position) {
    ASSERT_TRUE(db_->Delete(rocksdb::WriteOptions(), handles_[1], key(position)).ok());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace latchkey::testing
