// The canonical byte encoding of a stored event, and its chained hash.
//
// Value stored at a position = canonical bytes || hash (32 bytes), where
//   canonical = u8 format (1)
//               u64 position, u64 stream_version, u32 schema_version,
//               i64 recorded_at_us                       (little-endian)
//               then each as u32 length + bytes: stream_id, event_id, type,
//               tenant, actor.kind, actor.id, actor.name, correlation_id,
//               causation_id, source_ip, payload
//   hash      = BLAKE2b-256(previous hash || canonical)
// The encoding is deliberately not JSON: it has exactly one byte form per
// event, so the chain can be recomputed by any implementation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::eventstore::codec {

inline constexpr std::uint8_t kFormat = 1;
inline constexpr std::size_t kHashSize = 32;

// Appends the canonical bytes of `event` (its hash field is ignored) to `out`.
void encode_canonical(const RecordedEvent& event, std::string& out);

Hash chain_hash(const Hash& previous, std::string_view canonical);

// canonical || hash
std::string encode_stored(const RecordedEvent& event);

// Parses a stored value. Does not check the hash against the chain (verify
// does that); does check that the value is well formed.
Result<RecordedEvent> decode_stored(std::string_view stored);
// The same, reusing `out`'s string capacity (for scanning the whole log).
Result<void> decode_into(std::string_view stored, RecordedEvent& out);

// The canonical part of a stored value (everything but the trailing hash).
std::string_view canonical_part(std::string_view stored);

// Big-endian u64, so that keys sort in numeric order.
void put_be64(std::string& out, std::uint64_t v);
std::uint64_t get_be64(std::string_view in);
// The key of a position in the events column family (and outbox prefix).
std::string position_key(std::uint64_t position);

}  // namespace latchkey::eventstore::codec
