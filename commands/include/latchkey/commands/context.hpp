// What every command carries besides its own fields: who, for which tenant,
// from where, and under which correlation id (SPEC §2 rule 5).
#pragma once

#include <cstdint>
#include <string>

#include "latchkey/domain/ports.hpp"
#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::commands {

struct CommandContext {
  std::string tenant;
  eventstore::Actor actor;     // guardian, staff (key id and name), platform or system
  std::string correlation_id;  // one per request; echoed to the client
  std::string causation_id;    // the event or message that caused this command, if any
  std::string source_ip;       // empty when not from the network
  // Null: a command returns once what it appended is durable. Set by a
  // caller that answers later (the HTTP API): a command then returns as soon
  // as its events are written, raises *durable_at to the last position it
  // wrote, and the caller must not tell anyone the outcome before that
  // position is durable (EventStore::when_durable). Meanwhile the thread
  // serves other requests instead of sleeping through the fsync.
  std::uint64_t* durable_at = nullptr;
};

// The injected ports. Referenced, not owned: app/ (or a test) owns them and
// keeps them alive longer than the handlers. All must be thread-safe.
struct Ports {
  domain::Clock& clock;
  domain::Random& random;
  domain::PasswordHasher& passwords;
  domain::TokenHasher& tokens;
};

}  // namespace latchkey::commands
