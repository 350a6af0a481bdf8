#include "prepared_wal.hpp"

#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <vector>

namespace latchkey::eventstore {
namespace {

// RocksDB names its write-ahead logs NNNNNN.log; nothing else it writes ends so.
bool is_wal(const std::string& fname) {
  const auto slash = fname.find_last_of('/');
  const std::string_view base =
      std::string_view(fname).substr(slash == std::string::npos ? 0 : slash + 1);
  constexpr std::string_view kSuffix = ".log";
  if (base.size() <= kSuffix.size() || !base.ends_with(kSuffix)) return false;
  const auto digits = base.substr(0, base.size() - kSuffix.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

rocksdb::IOStatus io_error(const std::string& what, const std::string& path) {
  return rocksdb::IOStatus::IOError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

PreparedWalFileSystem::PreparedWalFileSystem(std::string dir, std::size_t bytes)
    : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()),
      spare_(dir + "/latchkey-prepared.wal"),
      writing_(dir + "/latchkey-prepared.wal.partial"),
      bytes_(bytes) {}

PreparedWalFileSystem::~PreparedWalFileSystem() { stop(); }

rocksdb::IOStatus PreparedWalFileSystem::start() {
  ::unlink(writing_.c_str());  // a preparer stopped halfway
  struct stat st {};
  bool ready = ::stat(spare_.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) == bytes_;
  if (!ready) {
    if (auto s = prepare(/*paced=*/false); !s.ok()) return s;
  }
  std::lock_guard lock(mu_);
  ready_ = true;
  preparer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lk-wal-prepare");
    preparer_loop();
  });
  return rocksdb::IOStatus::OK();
}

void PreparedWalFileSystem::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (preparer_.joinable()) preparer_.join();
}

rocksdb::IOStatus PreparedWalFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  if (is_wal(fname)) {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      rocksdb::IOStatus s = rocksdb::IOStatus::NotFound();
      if (ready_) {
        ready_ = false;
        // Renames the prepared file to fname and opens it without truncating.
        s = target()->ReuseWritableFile(fname, spare_, options, result, dbg);
      }
      wanted_ = true;
      lock.unlock();
      cv_.notify_all();
      if (s.ok()) return s;
    }
  }
  return target()->NewWritableFile(fname, options, result, dbg);
}

// Writes zeros to a side file, makes them durable, then renames the file into
// place: the prepared file is never seen half written. The zeros go through
// the page cache on purpose: RocksDB's appends then land in cached pages
// (written straight to disk, O_DIRECT zeros made each new page a read from
// disk first, and appends slower than with no preparation at all). They go
// to disk a small piece at a time, each written back before the next is
// queued, so that an append's fsync meanwhile waits behind one piece at
// most, never behind the whole file.
rocksdb::IOStatus PreparedWalFileSystem::prepare(bool paced) {
  constexpr std::size_t kPiece = 256u << 10;
  const int fd = ::open(writing_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", writing_);
  const std::vector<char> zeros(kPiece, 0);
  rocksdb::IOStatus s;
  for (std::size_t done = 0; done < bytes_ && s.ok();) {
    const std::size_t n = std::min(kPiece, bytes_ - done);
    const auto piece_started = std::chrono::steady_clock::now();
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      s = io_error("cannot write", writing_);
      break;
    }
    ::sync_file_range(fd, static_cast<off_t>(done), w,
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER);
    done += static_cast<std::size_t>(w);
    // In the background, at most half the disk's time: after each piece,
    // idle as long as it took.
    if (paced) std::this_thread::sleep_for(std::chrono::steady_clock::now() - piece_started);
    std::lock_guard lock(mu_);
    if (stopping_) s = rocksdb::IOStatus::Aborted("the store is closing");
  }
  // The blocks' allocation, and the file's size.
  if (s.ok() && ::fdatasync(fd) != 0) s = io_error("cannot sync", writing_);
  ::close(fd);
  if (s.ok() && ::rename(writing_.c_str(), spare_.c_str()) != 0) {
    s = io_error("cannot rename", writing_);
  }
  if (!s.ok()) ::unlink(writing_.c_str());
  return s;
}

void PreparedWalFileSystem::preparer_loop() {
  // The zeros can wait: where the disk's scheduler honours I/O priorities
  // (mq-deadline, bfq), an append's write always goes first.
  constexpr int kIoprioClassIdle = 3, kIoprioClassShift = 13, kIoprioWhoProcess = 1;
  ::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || wanted_; });
    if (stopping_) return;
    wanted_ = false;
    if (ready_) continue;
    lock.unlock();
    // On failure (disk full, say) the next WAL is a plain file, and asks again.
    const bool ok = prepare(/*paced=*/true).ok();
    lock.lock();
    ready_ = ok;
  }
}

}  // namespace latchkey::eventstore
