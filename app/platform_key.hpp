// The platform key (SPEC §7): created once, on the first start with an empty
// store; it can create tenants and issue each tenant's first admin key.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "latchkey/domain/ports.hpp"
#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::app {

// If the platform key was never issued: generates 256 random bits, writes the
// key to DATA_DIR/platform.key (mode 0600, synced), and records
// PlatformKeyIssued with the key's BLAKE2b-256 hash only. Returns the key so
// that the caller can print it this once; nullopt when it already existed.
Result<std::optional<std::string>> ensure_platform_key(eventstore::EventStore& store,
                                                       const std::string& data_dir,
                                                       domain::Random& random,
                                                       const domain::Clock& clock);

// Unkeyed BLAKE2b-256 as lower-case hex: the platform key's recorded digest,
// and the digest the API uses for request bodies and its key-check cache.
std::string blake2b_hex(std::string_view data);

// The hex BLAKE2b-256 of the platform key, as recorded by PlatformKeyIssued.
Result<std::string> platform_key_hash(eventstore::EventStore& store);

// The server's secret for keyed token hashes: 32 random bytes in
// DATA_DIR/token.key (mode 0600), created on first start. Losing it
// invalidates every session, API key and outstanding reset link.
Result<std::array<std::uint8_t, 32>> load_or_create_token_key(const std::string& data_dir);

}  // namespace latchkey::app
