// What a RocksDB-backed store holds in memory, for /metrics: the parts that
// grow with the data and the load, each bounded by an option of its own.
#pragma once

#include <cstdint>

namespace latchkey {

struct StoreMemory {
  std::uint64_t block_cache_bytes = 0;   // table blocks cached (LRU, bounded by its capacity)
  std::uint64_t memtable_bytes = 0;      // writes not yet flushed, every family, immutable ones too
  std::uint64_t table_reader_bytes = 0;  // open table files' indexes and filters kept outside the cache
};

}  // namespace latchkey
