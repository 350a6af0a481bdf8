#include "heap.hpp"

#include <malloc.h>

namespace latchkey::app {

void configure_heap() {
#ifdef __GLIBC__
  // Blocks of 256 KiB and more are mapped on their own and unmapped when
  // freed. The largest are RocksDB's memtable arena blocks (1 MiB), freed
  // at each flush. By default glibc raises this threshold to the size of
  // each mapped block freed (up to 32 MiB), and from the first flush on it
  // carves memtables from the heap, which keeps their pages once they are
  // freed: under the soak's mixed load ~40 MiB stayed free but resident
  // (mallinfo2's fordblks), and the heap's high-water mark crept up for as
  // long as the two stores' memtables happened to peak together.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

}  // namespace latchkey::app
