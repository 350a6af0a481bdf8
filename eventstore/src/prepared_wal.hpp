// Write-ahead log files whose blocks are on disk before RocksDB appends to
// them.
//
// A durable append ends in an fdatasync of the WAL. When the WAL file grows,
// that fdatasync writes the data and then the inode (the file's new size and
// newly allocated blocks): two dependent writes. When the append lands in
// blocks that were already written, the size does not change and the
// fdatasync writes the data alone (here 150-165 µs against 250-280 µs per
// fsync, docs/PERFORMANCE.md). So this file system keeps one zero-filled
// "prepared" file in the store's directory, and hands it to RocksDB, renamed,
// whenever RocksDB creates a new WAL; a background thread then prepares the
// next one. Past the prepared size the file grows as any other.
//
// Recovery is unchanged: RocksDB's WAL reader skips zero-filled blocks
// (they read as empty padding) and stops at the end of the file, and
// point-in-time recovery still stops at the first torn record.
#pragma once

#include <rocksdb/file_system.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace latchkey::eventstore {

class PreparedWalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  // `dir` is the store's directory (RocksDB's WAL directory); `bytes` the
  // size of each prepared file.
  PreparedWalFileSystem(std::string dir, std::size_t bytes);
  ~PreparedWalFileSystem() override;

  const char* Name() const override { return "LatchkeyPreparedWal"; }

  // Makes sure a prepared file is waiting, writing it now if it is not, and
  // starts the background preparer. Called before DB::Open, whose new WAL
  // then takes it.
  rocksdb::IOStatus start();
  // From now on new WAL files are created plain and nothing more is
  // prepared: a closing store's last flush should not take the file the
  // next open will want.
  void stop();

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;

 private:
  rocksdb::IOStatus prepare(bool paced);
  void preparer_loop();

  const std::string spare_;      // the prepared file, ready to be renamed
  const std::string writing_;    // where it is written first
  const std::size_t bytes_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;      // spare_ exists and is fully written
  bool wanted_ = false;     // the preparer should write the next one
  bool stopping_ = false;
  std::thread preparer_;
};

}  // namespace latchkey::eventstore
