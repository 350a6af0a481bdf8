#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <atomic>
#include <filesystem>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "latchkey/projections/read_model_db.hpp"

namespace latchkey::projections {
namespace {

Error storage(const rocksdb::Status& s) { return make_error("storage_error", "read models: " + s.ToString()); }

// Collects a batch's writes and hands them to RocksDB sorted by key: the
// memtable's skip list then inserts each key next to the previous one
// (its sequential-insert splice) instead of searching from the top, which
// more than halves the cost of a large batch. The last write of a key wins.
class RocksWriteSet final : public WriteSet {
 public:
  void put(std::string_view key, std::string_view value) override { add(key, value, false); }
  void erase(std::string_view key) override { add(key, {}, true); }
  std::size_t size() const override { return ops_.size(); }

  struct Op {
    std::string_view key;
    std::string_view value;
    bool erase;
  };

  void prepare() override { sort(); }

  // The writes in key order, one per key (the last one made).
  const std::vector<Op>& sorted() {
    sort();
    return ops_;
  }

 private:
  // Keys and values are copied into blocks that never move, so a write costs
  // one copy and no allocation of its own. Blocks start small and double up
  // to 1 MiB: a live batch of a few events used to get a zero-filled 1 MiB
  // block (an mmap, a memset and its page faults) for a few kilobytes.
  static constexpr std::size_t kFirstBlock = 16u << 10;
  static constexpr std::size_t kMaxBlock = 1u << 20;
  std::string_view copy(std::string_view bytes) {
    if (bytes.empty()) return {};
    if (bytes.size() > kMaxBlock / 4) {
      large_.push_back(std::make_unique_for_overwrite<char[]>(bytes.size()));
      std::memcpy(large_.back().get(), bytes.data(), bytes.size());
      return {large_.back().get(), bytes.size()};
    }
    if (blocks_.empty() || used_ + bytes.size() > block_size_) {
      block_size_ = blocks_.empty() ? kFirstBlock : std::min(kMaxBlock, block_size_ * 2);
      block_size_ = std::max(block_size_, bytes.size());
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_size_));
      used_ = 0;
    }
    char* at = blocks_.back().get() + used_;
    std::memcpy(at, bytes.data(), bytes.size());
    used_ += bytes.size();
    return {at, bytes.size()};
  }
  void add(std::string_view key, std::string_view value, bool erase) {
    ops_.push_back(Op{copy(key), copy(value), erase});
  }
  void sort() {
    if (sorted_ == ops_.size()) return;
    // Stable: of two writes to one key, the later stays later, and wins.
    std::stable_sort(ops_.begin(), ops_.end(), [](const Op& a, const Op& b) { return a.key < b.key; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      if (i + 1 < ops_.size() && ops_[i + 1].key == ops_[i].key) continue;
      ops_[kept++] = ops_[i];
    }
    ops_.resize(kept);
    sorted_ = ops_.size();
  }

  std::vector<std::unique_ptr<char[]>> blocks_, large_;
  std::size_t block_size_ = 0;
  std::size_t used_ = 0;
  std::vector<Op> ops_;
  std::size_t sorted_ = 0;  // ops_ is in key order, one per key, up to here
};

class RocksReadModelDb final : public ReadModelDb {
 public:
  // Large batches (a catch-up or a rebuild) bypass the memtable: they are
  // written as one sorted table file and ingested, which is atomic (the file
  // holds the checkpoints too) and several times cheaper than inserting each
  // key into the memtable's skip list.
  static constexpr std::size_t kIngestAtLeast = 20'000;

  // While a backlog is ingested (a rebuild, a long catch-up) the files pile
  // up in level 0 and are merged once, up to kBacklogFiles at a time, rather
  // than every four: with everything in one level below, each merge rewrites
  // all that level, so merging every four batches rewrote the read models
  // five times over in a rebuild of 1M events and took a third of its CPU.
  // Reads look into each level-0 file (its bloom filter first) meanwhile.
  // The usual triggers come back when the runner has caught up.
  static constexpr int kBacklogFiles = 32;

  RocksReadModelDb(std::unique_ptr<rocksdb::DB> db, rocksdb::Options options, std::string path, bool read_only)
      : db_(std::move(db)), options_(std::move(options)), path_(std::move(path)), read_only_(read_only) {}
  ~RocksReadModelDb() override {
    // Writes skip the WAL (see commit): persist the memtable on a clean close
    // so that the next start-up finds the checkpoints and only catches up.
    if (!read_only_) db_->Flush(rocksdb::FlushOptions());
  }

  StoreMemory memory() const override { return eventstore::rocksdb_memory(*db_); }

  Result<std::optional<std::string>> get(std::string_view key) override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>{};
    if (!s.ok()) return storage(s);
    return std::optional<std::string>{std::move(value)};
  }

  Result<void> scan(std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override {
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    const std::string from = start.empty() ? std::string(prefix) : std::string(start);
    for (it->Seek(from); it->Valid(); it->Next()) {
      auto k = it->key();
      if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
      if (!visit(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) return storage(it->status());
    return {};
  }

  Result<void> scan_backwards(std::string_view prefix, std::string_view before,
                              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    if (before.empty()) {
      std::string end(prefix);
      end.push_back('\xff');
      end.append(8, '\xff');
      it->SeekForPrev(end);
    } else {
      it->SeekForPrev(rocksdb::Slice(before.data(), before.size()));
      if (it->Valid() && it->key() == rocksdb::Slice(before.data(), before.size())) it->Prev();
    }
    for (; it->Valid(); it->Prev()) {
      auto k = it->key();
      if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
      if (!visit(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size()))) break;
    }
    if (!it->status().ok()) return storage(it->status());
    return {};
  }

  std::unique_ptr<WriteSet> begin() override { return std::make_unique<RocksWriteSet>(); }

  Result<void> commit(WriteSet& writes) override { return commit_sorted(static_cast<RocksWriteSet&>(writes).sorted()); }

  Result<void> commit(const std::vector<WriteSet*>& sets) override {
    // Each set sorted on its own, the sorted runs side by side, then merged
    // pairwise in place (the sets write disjoint keys).
    std::vector<RocksWriteSet::Op> ops;
    std::vector<std::size_t> runs{0};  // where each run starts; the last entry is the end
    for (auto* set : sets) {
      const auto& run = static_cast<RocksWriteSet&>(*set).sorted();
      ops.insert(ops.end(), run.begin(), run.end());
      runs.push_back(ops.size());
    }
    auto by_key = [](const RocksWriteSet::Op& a, const RocksWriteSet::Op& b) { return a.key < b.key; };
    while (runs.size() > 2) {
      std::vector<std::size_t> merged{0};
      for (std::size_t i = 2; i < runs.size(); i += 2) {
        std::inplace_merge(ops.begin() + static_cast<std::ptrdiff_t>(runs[i - 2]),
                           ops.begin() + static_cast<std::ptrdiff_t>(runs[i - 1]),
                           ops.begin() + static_cast<std::ptrdiff_t>(runs[i]), by_key);
        merged.push_back(runs[i]);
      }
      if (runs.size() % 2 == 0) merged.push_back(runs.back());  // an odd run out waits for the next pass
      runs = std::move(merged);
    }
    return commit_sorted(ops);
  }

  Result<void> commit_sorted(const std::vector<RocksWriteSet::Op>& ops) {
    if (ops.empty()) return {};
    if (ops.size() >= kIngestAtLeast) return ingest(ops);
    // Without the WAL: a batch lands in the memtable atomically, rows and
    // checkpoints together, and a memtable (one column family) is flushed as
    // a whole, so after a crash rows and checkpoints still agree; what the
    // crash loses is a tail the runner replays from the log. Read models are
    // rebuildable; the log is the record.
    rocksdb::WriteBatch batch;
    for (const auto& op : ops) {
      if (op.erase) {
        batch.Delete(rocksdb::Slice(op.key.data(), op.key.size()));
      } else {
        batch.Put(rocksdb::Slice(op.key.data(), op.key.size()), rocksdb::Slice(op.value.data(), op.value.size()));
      }
    }
    rocksdb::WriteOptions options;
    options.disableWAL = true;
    auto s = db_->Write(options, &batch);
    if (!s.ok()) return storage(s);
    for (const auto& op : ops) changed(op.key);
    return {};
  }

  void caught_up() override {
    if (!backlog_.exchange(false)) return;
    set_level0_triggers(usual_);
  }

  Result<void> erase_prefix(std::string_view prefix) override {
    std::string end(prefix);
    // The smallest key greater than every key with this prefix.
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
    if (end.empty()) return make_error("invalid_input", "cannot erase an all-0xff prefix");
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    rocksdb::WriteBatch batch;
    batch.DeleteRange(rocksdb::Slice(prefix.data(), prefix.size()), end);
    rocksdb::WriteOptions options;
    options.disableWAL = true;
    auto s = db_->Write(options, &batch);
    if (!s.ok()) return storage(s);
    changed_everything();
    return {};
  }

 private:
  struct Level0Triggers {
    int compaction, slowdown, stop;
  };

  void set_level0_triggers(const Level0Triggers& t) {
    // Only tuning: should RocksDB refuse, the store works as it did.
    (void)db_->SetOptions({{"level0_file_num_compaction_trigger", std::to_string(t.compaction)},
                           {"level0_slowdown_writes_trigger", std::to_string(t.slowdown)},
                           {"level0_stop_writes_trigger", std::to_string(t.stop)}});
  }

  Result<void> ingest(const std::vector<RocksWriteSet::Op>& ops) {
    if (!backlog_.exchange(true)) {
      set_level0_triggers({kBacklogFiles, kBacklogFiles + usual_.slowdown, kBacklogFiles + usual_.stop});
    }
    const std::string file = path_ + "/ingest-" + std::to_string(++ingested_) + ".sst";
    // Uncompressed: the file is merged (and compressed) soon after.
    rocksdb::Options file_options = options_;
    file_options.compression = rocksdb::kNoCompression;
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), file_options);
    auto s = writer.Open(file);
    for (std::size_t i = 0; s.ok() && i < ops.size(); ++i) {
      const rocksdb::Slice k(ops[i].key.data(), ops[i].key.size());
      s = ops[i].erase ? writer.Delete(k) : writer.Put(k, rocksdb::Slice(ops[i].value.data(), ops[i].value.size()));
    }
    if (s.ok()) s = writer.Finish();
    if (s.ok()) {
      rocksdb::IngestExternalFileOptions io;
      io.move_files = true;
      s = db_->IngestExternalFile({file}, io);
    }
    // Ingestion hard-links the file into the database: our name can go.
    std::error_code ec;
    std::filesystem::remove(file, ec);
    if (!s.ok()) return storage(s);
    changed_everything();
    return {};
  }

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::Options options_;
  std::string path_;
  bool read_only_;
  std::atomic<std::uint64_t> ingested_{0};
  const Level0Triggers usual_{options_.level0_file_num_compaction_trigger, options_.level0_slowdown_writes_trigger,
                              options_.level0_stop_writes_trigger};
  std::atomic<bool> backlog_{false};
};

}  // namespace

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::uint64_t from_be64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

Result<std::unique_ptr<ReadModelDb>> open_read_model_db(const std::string& path,
                                                        const ReadModelDbOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.max_background_jobs = 2;
  // INFO, not the DEBUG Debian's librocksdb defaults to, and a bounded LOG
  // (the event store's options say why).
  db_options.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;
  db_options.max_log_file_size = 8u << 20;
  db_options.keep_log_file_num = 2;
  db_options.max_open_files = 256;
  // Memtables within a fixed budget (see ReadModelDbOptions).
  db_options.db_write_buffer_size = options.memtable_budget_bytes;
  db_options.write_buffer_size = options.memtable_budget_bytes / 2;
  db_options.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Outside the block cache, the indexes and filters grew with the read
  // models, a few MiB per million events, for as long as the server ran;
  // cached whole, a 6.7 MB file of the soak's had a 1.2 MiB filter against
  // the cache's 1 MiB shards.
  eventstore::cache_indexes_and_filters_in_partitions(table);
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (!options.read_only) std::filesystem::create_directories(path);
  rocksdb::DB* raw = nullptr;
  auto s = options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path, &raw)
                             : rocksdb::DB::Open(db_options, path, &raw);
  if (!s.ok()) return storage(s);
  return std::unique_ptr<ReadModelDb>(std::make_unique<RocksReadModelDb>(std::unique_ptr<rocksdb::DB>(raw), db_options, path, options.read_only));
}

}  // namespace latchkey::projections
