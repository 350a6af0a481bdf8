// The platform key (SPEC §7): created once, on the first start with an empty
// store; it can create tenants and issue each tenant's first admin key.
#pragma once

#include <optional>
#include <string>

#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::app {

// If the platform key was never issued: generates 256 random bits, writes the
// key to DATA_DIR/platform.key (mode 0600, synced), and records
// PlatformKeyIssued with the key's BLAKE2b-256 hash only. Returns the key so
// that the caller can print it this once; nullopt when it already existed.
Result<std::optional<std::string>> ensure_platform_key(eventstore::EventStore& store,
                                                       const std::string& data_dir);

}  // namespace latchkey::app
