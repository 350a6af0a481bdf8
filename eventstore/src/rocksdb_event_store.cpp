// Opening, reading and verifying the RocksDB event store. The append pipeline
// is in rocksdb_append.cpp.
#include "rocksdb_event_store.hpp"

#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <cstring>
#include <filesystem>

#include "record_codec.hpp"

namespace latchkey::eventstore {
namespace {

constexpr const char* kCfNames[] = {"default", "events", "streams", "event_ids", "outbox", "meta"};
constexpr std::string_view kHeadKey = "head";

Error storage_error(const rocksdb::Status& s, std::string_view what) {
  return make_error(kStorageError, std::string(what) + ": " + s.ToString());
}

std::string stream_key(std::string_view stream_id, std::uint64_t version) {
  std::string k;
  k.reserve(stream_id.size() + 9);
  k.append(stream_id);
  k.push_back('\0');
  codec::put_be64(k, version);
  return k;
}

// A stream index key's stream: everything up to and including its NUL.
class StreamPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "latchkey.StreamPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const auto* nul = static_cast<const char*>(std::memchr(key.data(), '\0', key.size()));
    return {key.data(), static_cast<std::size_t>(nul - key.data()) + 1};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

Result<std::unique_ptr<EventStore>> open_rocksdb_event_store(const std::string& path,
                                                             const RocksDbOptions& options) {
  return RocksDbEventStore::open(path, options);
}

RocksDbLayout rocksdb_layout(const RocksDbOptions& options) {
  using Mode = RocksDbOptions::Mode;
  using Store = RocksDbEventStore;
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto cf_options = [&](int cf) {
    rocksdb::ColumnFamilyOptions o;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    // A compacted file of 64 MB has a streams index over 1 MB and an
    // event-id filter near 10 MB, against the cache's 512 KiB shards. Index
    // parts are ~4 KiB; the event-id filter's are ~30 KiB (RocksDB cuts them
    // only where it cuts the index's: 8 of each for 200,000 ids), still
    // bounded whatever the file's size.
    cache_indexes_and_filters_in_partitions(t);
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    // Inserting into the memtables is most of a batch's CPU, and the leader's
    // CPU is what stands between two fsyncs. Event ids are only ever looked
    // up one by one (the idempotence check, which mostly misses): a hash
    // table takes and finds them without a skiplist search, and a bloom
    // filter answers for the table files. (A skiplist with an insert hint,
    // fed Latchkey's time-ordered ids, spares the flush its sort but costs
    // the leader more than it saves: session 14.) A stream's index keys
    // arrive in order and are read by iterators: a per-stream hint finds each
    // one's place next to the last. Positions arrive in order, and the
    // skiplist remembers where the last insert went.
    if (cf == Store::kEventIds) {
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      o.prefix_extractor.reset(rocksdb::NewNoopTransform());
      o.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory());
    } else if (cf == Store::kStreams) {
      o.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamPrefix>();
    } else if (cf == Store::kEvents) {
      // The log is mostly read in long scans (catch-ups, rebuilds, replay):
      // 16 KiB blocks instead of 4 KiB cost a scan of 1M events ~10% less
      // CPU (per-block work: checksums, prefetch lookups, block set-up) and
      // compress better (the log 23% smaller on disk). Point reads of events
      // are rare (write models are cached; audit pages read a few).
      t.block_size = 16u << 10;
    }
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    o.compression = rocksdb::kLZ4Compression;
    o.level_compaction_dynamic_level_bytes = true;
    o.write_buffer_size = options.memtable_budget_bytes / 2;
    return o;
  };

  RocksDbLayout layout;
  rocksdb::DBOptions& db_options = layout.db;
  db_options.create_if_missing = options.mode == Mode::read_write;
  db_options.create_missing_column_families = options.mode == Mode::read_write;
  db_options.max_background_jobs = 2;
  // RocksDB's own info log (LOG): Debian's librocksdb is built without
  // NDEBUG, so its options default to DEBUG-level lines, among them one per
  // WAL sync (thousands a second under load, each formatted on the syncer
  // thread). INFO keeps flushes, compactions and errors; the file rolls at
  // 8 MiB, keeping the last few, so a long-running server's LOG is bounded.
  db_options.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;
  db_options.max_log_file_size = 8u << 20;
  db_options.keep_log_file_num = 4;
  db_options.db_write_buffer_size = options.memtable_budget_bytes;
  // Past the budget RocksDB flushes one family, the oldest, and every flush
  // starts a new WAL: five flushes and five WALs (each taking a prepared
  // file, the older ones kept until every family has flushed past them) per
  // budget's worth of appends. Flushed together, the families make one flush
  // and one new WAL, and the last WAL is the only live one.
  db_options.atomic_flush = true;
  db_options.max_open_files = options.mode == Mode::secondary ? -1 : 512;
  // One leader writes at a time, and the hash memtable requires it.
  db_options.allow_concurrent_memtable_write = false;
  // A torn write at the WAL's tail (power loss mid-append) is recovered as the
  // prefix before it: nothing after a hole is replayed, keeping positions dense.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // The leader's write leaves its WAL record in RocksDB's buffer; the syncer
  // writes the buffer to the file just before the fsync (FlushWAL), one
  // write(2) per fsync instead of one per leader round. Nothing is lost that
  // was acknowledged: only synced events are answered, projected or sent.
  db_options.manual_wal_flush = true;

  for (int i = 0; i < Store::kCfCount; ++i) {
    layout.families.emplace_back(kCfNames[i], cf_options(i));
  }
  return layout;
}

Result<std::unique_ptr<EventStore>> RocksDbEventStore::open(const std::string& path,
                                                            const RocksDbOptions& options) {
  if (sodium_init() < 0) return make_error(kStorageError, "libsodium failed to initialise");
  using Mode = RocksDbOptions::Mode;

  auto [db_options, descriptors] = rocksdb_layout(options);
  std::unique_ptr<RocksDbEventStore> store(new RocksDbEventStore());
  store->options_ = options;
  store->path_ = path;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  switch (options.mode) {
    case Mode::read_write:
      std::filesystem::create_directories(path);
      if (options.wal_prepared_bytes > 0 && options.sync) {
        store->wal_fs_ = std::make_shared<PreparedWalFileSystem>(path, options.wal_prepared_bytes);
        if (auto io = store->wal_fs_->start(); !io.ok()) {
          return storage_error(io, "cannot prepare a write-ahead log file in " + path);
        }
        store->env_ = rocksdb::NewCompositeEnv(store->wal_fs_);
        db_options.env = store->env_.get();
      }
      s = rocksdb::DB::Open(db_options, path, descriptors, &store->handles_, &raw);
      break;
    case Mode::read_only:
      s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &store->handles_, &raw);
      break;
    case Mode::secondary:
      if (options.secondary_dir.empty()) {
        return make_error(kInvalidAppend, "a secondary open needs secondary_dir");
      }
      std::filesystem::create_directories(options.secondary_dir);
      store->secondary_options_ = db_options;
      store->descriptors_ = descriptors;
      s = store->open_secondary(store->handles_, raw);
      break;
  }
  if (!s.ok()) return storage_error(s, "cannot open the event store at " + path);
  store->db_.reset(raw);

  if (auto r = store->load_head(); !r.ok()) return r.error();
  store->write_head_ = store->durable_.load();
  store->written_ = store->write_head_;

  if (options.mode == Mode::read_write) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = store->db_->Put(wo, store->cf(kMeta), "format", std::to_string(codec::kFormat));
    if (!s.ok()) return storage_error(s, "cannot write the store's format marker");
    store->syncer_ = std::thread([p = store.get()] {
      pthread_setname_np(pthread_self(), "lk-log-syncer");
      p->syncer_loop();
    });
  }
  return std::unique_ptr<EventStore>(std::move(store));
}

RocksDbEventStore::~RocksDbEventStore() {
  {
    std::lock_guard lock(sync_mu_);
    stopping_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) {
    syncer_.join();
    // The syncer made everything written durable before it stopped (or the
    // store failed, which answered every callback): none is left but for a
    // caller that broke when_durable()'s contract.
    std::vector<DurableCall> left;
    {
      std::lock_guard lock(sync_mu_);
      left.swap(durable_calls_);
    }
    for (auto& call : left) call.then(make_error(kStorageError, "the store is closing"));
    // A clean close persists the memtables, so that the next open does not
    // replay the whole write-ahead log (start-up time). The WAL that flush
    // starts stays plain: the prepared file is kept for the next open.
    if (wal_fs_) wal_fs_->stop();
    if (db_) db_->Flush(rocksdb::FlushOptions(), handles_);
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  if (db_) db_->Close();
}

Result<void> RocksDbEventStore::load_head() {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf(kMeta), kHeadKey, &value);
  if (s.IsNotFound()) {
    durable_.store(0);
    write_head_hash_ = Hash{};
    return {};
  }
  if (!s.ok()) return storage_error(s, "cannot read the log head");
  if (value.size() != 8 + codec::kHashSize) {
    return make_error(kCorruption, "the stored log head is malformed");
  }
  std::copy(value.begin() + 8, value.end(), write_head_hash_.begin());
  durable_.store(codec::get_be64(value), std::memory_order_release);
  return {};
}

rocksdb::Status RocksDbEventStore::open_secondary(std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                                                  rocksdb::DB*& db) {
  return rocksdb::DB::OpenAsSecondary(secondary_options_, path_, options_.secondary_dir, descriptors_,
                                      &handles, &db);
}

StoreMemory rocksdb_memory(rocksdb::DB& db) {
  StoreMemory memory;
  db.GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &memory.block_cache_bytes);
  db.GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memory.memtable_bytes);
  db.GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem,
                              &memory.table_reader_bytes);
  return memory;
}

void cache_indexes_and_filters_in_partitions(rocksdb::BlockBasedTableOptions& table) {
  table.cache_index_and_filter_blocks = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
}

StoreMemory RocksDbEventStore::memory() const { return rocksdb_memory(*db_); }

// RocksDB's own catch-up (TryCatchUpWithPrimary) tails the live WAL from where
// it last stopped reading; in a prepared WAL file (prepared_wal.hpp) that is
// past the zeros, at the end of the file, and later appends land before it.
// A fresh secondary instance reads the live WAL from its start instead.
Result<void> RocksDbEventStore::refresh() {
  if (options_.mode != RocksDbOptions::Mode::secondary) return {};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = open_secondary(handles, raw);
  if (!s.ok()) return storage_error(s, "cannot catch up with the primary");
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
  db_.reset(raw);
  handles_ = std::move(handles);
  auto r = load_head();
  head_cv_.notify_all();
  return r;
}

std::uint64_t RocksDbEventStore::wait_for(std::uint64_t after_position,
                                          std::chrono::milliseconds timeout) {
  std::unique_lock lock(head_mu_);
  head_cv_.wait_for(lock, timeout, [&] { return head() > after_position; });
  return head();
}

Result<std::vector<RecordedEvent>> RocksDbEventStore::read_all(std::uint64_t from_position,
                                                               std::size_t max_count) {
  std::vector<RecordedEvent> out;
  if (max_count == 0) return out;
  std::uint64_t from = std::max<std::uint64_t>(from_position, 1);
  std::uint64_t to = std::min(head(), from + max_count - 1);
  if (from > to) return out;
  out.reserve(static_cast<std::size_t>(to - from + 1));
  auto r = for_each_event(from, to, [&](const RecordedEvent& e) {
    out.push_back(e);
    return true;
  });
  if (!r.ok()) return r.error();
  return out;
}

Result<void> RocksDbEventStore::for_each_event(std::uint64_t from_position,
                                               std::uint64_t to_position,
                                               const EventVisitor& visit) {
  std::uint64_t from = std::max<std::uint64_t>(from_position, 1);
  std::uint64_t to = std::min(to_position, head());
  if (from > to) return {};
  std::string lower = codec::position_key(from);
  std::string upper = codec::position_key(to + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  if (to - from + 1 >= kScanAtLeast) {
    // A long stretch (a rebuild, a replay): read ahead in large reads and
    // leave the block cache to the point reads.
    ro.readahead_size = kScanReadahead;
    ro.fill_cache = false;
    ro.async_io = true;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kEvents)));
  std::uint64_t expected = from;
  RecordedEvent event;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    auto decoded = codec::decode_into(std::string_view(it->value().data(), it->value().size()),
                                      event);
    if (!decoded.ok()) return decoded.error();
    if (event.position != expected) {
      return make_error(kCorruption, "the log has a gap or disorder at position " +
                                         std::to_string(expected));
    }
    ++expected;
    if (!visit(event)) return {};
  }
  if (!it->status().ok()) return storage_error(it->status(), "cannot read the log");
  if (expected != to + 1) {
    return make_error(kCorruption,
                      "the log ends early: position " + std::to_string(expected) + " is missing");
  }
  return {};
}

Result<std::optional<RecordedEvent>> RocksDbEventStore::event_at(std::uint64_t position) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf(kEvents), codec::position_key(position), &value);
  if (s.IsNotFound()) return std::optional<RecordedEvent>{};
  if (!s.ok()) return storage_error(s, "cannot read an event");
  auto e = codec::decode_stored(value);
  if (!e.ok()) return e.error();
  return std::optional<RecordedEvent>(std::move(e).value());
}

Result<std::vector<RecordedEvent>> RocksDbEventStore::read_stream(std::string_view stream_id,
                                                                  std::uint64_t from_version,
                                                                  std::size_t max_count) {
  std::vector<RecordedEvent> out;
  const std::uint64_t first = std::max<std::uint64_t>(from_version, 1);
  rocksdb::ReadOptions ro;
  std::vector<std::string> keys;
  // A stream this store has just written: nothing past its end, or the index
  // keys of its last few versions, found by point lookups (no iterator).
  if (auto last = cached_version(stream_id); last && *last < first) {
    return out;
  } else if (last && max_count > 0 && *last - first < kPointReadVersions) {
    const std::size_t count = std::min<std::uint64_t>(*last - first + 1, max_count);
    std::vector<std::string> index_keys;
    for (std::size_t i = 0; i < count; ++i) index_keys.push_back(stream_key(stream_id, first + i));
    std::vector<rocksdb::Slice> slices(index_keys.begin(), index_keys.end());
    std::vector<rocksdb::PinnableSlice> values(count);
    std::vector<rocksdb::Status> statuses(count);
    db_->MultiGet(ro, cf(kStreams), count, slices.data(), values.data(), statuses.data());
    for (std::size_t i = 0; i < count; ++i) {
      if (!statuses[i].ok()) return storage_error(statuses[i], "a stream's index misses a version");
      keys.push_back(codec::position_key(codec::get_be64(values[i].ToStringView())));
    }
  } else {
    std::string prefix(stream_id);
    prefix.push_back('\0');
    const std::uint64_t clears = version_clears();  // before the iterator's snapshot
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kStreams)));
    std::uint64_t last = 0;
    for (it->Seek(stream_key(stream_id, first));
         it->Valid() && keys.size() < max_count && it->key().starts_with(prefix); it->Next()) {
      keys.push_back(codec::position_key(codec::get_be64(it->value().ToStringView())));
      last = codec::get_be64(it->key().ToStringView().substr(prefix.size()));
    }
    // A read that reached the stream's end remembers it, so that the next
    // read past it needs no iterator; one that found nothing past `first`
    // looks whether the stream ends just before it.
    if (it->status().ok() && keys.empty() && max_count > 0 && first > 1) {
      const std::string before = stream_key(stream_id, first - 1);
      it->SeekForPrev(before);
      if (it->Valid() && it->key() == rocksdb::Slice(before)) last = first - 1;
    }
    if (!it->status().ok()) return storage_error(it->status(), "cannot read a stream");
    if (keys.size() < max_count && last > 0) remember_version(stream_id, last, clears);
  }
  if (keys.empty()) return out;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(ro, cf(kEvents), keys.size(), slices.data(), values.data(), statuses.data());
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!statuses[i].ok()) return storage_error(statuses[i], "a stream points at a missing event");
    auto e = codec::decode_stored(values[i].ToStringView());
    if (!e.ok()) return e.error();
    out.push_back(std::move(e).value());
  }
  return out;
}

Result<std::uint64_t> RocksDbEventStore::last_version_in_db(std::string_view stream_id) {
  std::string prefix(stream_id);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kStreams)));
  it->SeekForPrev(stream_key(stream_id, ~std::uint64_t{0}));
  if (!it->status().ok()) return storage_error(it->status(), "cannot read a stream head");
  if (!it->Valid() || !it->key().starts_with(prefix)) return std::uint64_t{0};
  return codec::get_be64(std::string_view(it->key().data() + prefix.size(), 8));
}

Result<std::optional<RecordedEvent>> RocksDbEventStore::read_last(std::string_view stream_id) {
  auto version = last_version_in_db(stream_id);
  if (!version.ok()) return version.error();
  if (*version == 0) return std::optional<RecordedEvent>{};
  auto events = read_stream(stream_id, *version, 1);
  if (!events.ok()) return events.error();
  if (events->empty()) return std::optional<RecordedEvent>{};
  return std::optional<RecordedEvent>(std::move(events->front()));
}

Result<VerifyReport> RocksDbEventStore::verify() {
  VerifyReport report;
  auto broken = [&](std::uint64_t position, std::string problem) {
    report.ok = false;
    report.first_bad_position = position;
    report.problem = std::move(problem);
    return report;
  };
  rocksdb::ReadOptions ro;
  ro.readahead_size = kScanReadahead;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kEvents)));
  Hash previous{};
  std::uint64_t expected = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    if (it->key().size() != 8) return broken(expected, "a key in the log is malformed");
    std::uint64_t key_position = codec::get_be64(it->key().ToStringView());
    if (key_position != expected) {
      return broken(expected, "position " + std::to_string(expected) + " is missing");
    }
    std::string_view stored = it->value().ToStringView();
    auto event = codec::decode_stored(stored);
    if (!event.ok()) return broken(expected, event.error().message);
    if (event->position != key_position) {
      return broken(expected, "the event stored here claims position " +
                                  std::to_string(event->position));
    }
    Hash computed = codec::chain_hash(previous, codec::canonical_part(stored));
    if (sodium_memcmp(computed.data(), event->hash.data(), computed.size()) != 0) {
      return broken(expected, "the hash chain breaks here (the event or its hash was altered)");
    }
    previous = computed;
    report.events++;
    report.head_position = key_position;
    report.head_hash = computed;
  }
  if (!it->status().ok()) return storage_error(it->status(), "cannot read the log");
  std::string head_value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf(kMeta), kHeadKey, &head_value);
  if (s.ok()) {
    std::uint64_t recorded_head = codec::get_be64(head_value);
    if (recorded_head != report.head_position) {
      return broken(std::min(recorded_head, report.head_position) + 1,
                    "the recorded head is " + std::to_string(recorded_head) +
                        " but the log ends at " + std::to_string(report.head_position));
    }
    if (head_value.size() != 8 + codec::kHashSize ||
        sodium_memcmp(head_value.data() + 8, report.head_hash.data(), codec::kHashSize) != 0) {
      return broken(report.head_position, "the recorded head hash does not match the chain");
    }
  } else if (!s.IsNotFound()) {
    return storage_error(s, "cannot read the log head");
  } else if (report.head_position != 0) {
    return broken(1, "the log has events but no recorded head");
  }
  return report;
}

Result<std::vector<OutboxEntry>> RocksDbEventStore::read_outbox(std::string_view after_key,
                                                                std::size_t max_count) {
  std::vector<OutboxEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kOutbox)));
  if (after_key.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(rocksdb::Slice(after_key.data(), after_key.size()));
    if (it->Valid() && it->key().ToStringView() == after_key) it->Next();
  }
  for (; it->Valid() && out.size() < max_count; it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() < 8) continue;
    std::uint64_t position = codec::get_be64(key);
    if (position > head()) break;  // not yet durable: its events might still be lost
    out.push_back(OutboxEntry{std::string(key), position, std::string(key.substr(8)),
                              it->value().ToString()});
  }
  if (!it->status().ok()) return storage_error(it->status(), "cannot read the outbox");
  return out;
}

Result<void> RocksDbEventStore::delete_outbox(const std::vector<std::string>& keys) {
  if (options_.mode != RocksDbOptions::Mode::read_write) {
    return make_error(kReadOnly, "the store is open read-only");
  }
  if (keys.empty()) return {};
  rocksdb::WriteBatch batch;
  for (const auto& key : keys) {
    auto s = batch.Delete(cf(kOutbox), rocksdb::Slice(key.data(), key.size()));
    if (!s.ok()) return storage_error(s, "cannot delete an outbox entry");
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;  // at-least-once: a lost delete only means one resend after a crash
  auto s = db_->Write(wo, &batch);
  // Written to the file at once (manual_wal_flush would otherwise keep it
  // in RocksDB's buffer until the next append's fsync, however long that is).
  if (s.ok()) s = db_->FlushWAL(false);
  if (!s.ok()) return storage_error(s, "cannot delete outbox entries");
  return {};
}

Result<std::vector<RecordedEvent>> Subscription::next(std::size_t max_count,
                                                      std::chrono::milliseconds timeout) {
  if (store_.head() <= cursor_ && store_.wait_for(cursor_, timeout) <= cursor_) {
    return std::vector<RecordedEvent>{};
  }
  auto events = store_.read_all(cursor_ + 1, max_count);
  if (events.ok() && !events->empty()) cursor_ = events->back().position;
  return events;
}

}  // namespace latchkey::eventstore
