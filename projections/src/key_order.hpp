// The order of a batch's keys, as RocksDB wants them (bytewise), found
// faster than by comparing whole keys: read-model keys are long and share
// most of their bytes ("audit/s/<tenant>/<subject>\0<position>"), so a
// comparison sort spends its time in memcmp over the same prefix, on keys
// scattered in memory. This is a most-significant-digit radix sort with
// digits of 8 bytes: the common prefix of a group is skipped, each key's
// next 8 bytes are loaded once as an integer, the group is sorted on those,
// and only keys that still tie are looked at again, 8 bytes further on.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace latchkey::projections {

// Positions into `keys`, in bytewise key order; equal keys in the order
// they come in `keys` (stable). At most 2^32 - 1 keys.
std::vector<std::uint32_t> key_order(const std::vector<std::string_view>& keys);

}  // namespace latchkey::projections
