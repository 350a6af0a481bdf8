// The answers of the read side (SPEC §5 and the response shapes of §6), as
// JSON, built only from the read-model store. The HTTP layer and
// latchkey-replay serve exactly these.
//
// Answers that depend on time (a lock that has run out, a link that has
// expired) are computed against the injected clock, so that a live read
// model and a rebuilt one give byte-identical answers at the same moment.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "latchkey/domain/ports.hpp"
#include "latchkey/projections/read_model_db.hpp"
#include "latchkey/projections/runner.hpp"
#include "latchkey/result.hpp"

namespace latchkey::projections {

struct GuardianSearch {
  std::string last_name_prefix;  // case-insensitive
  std::string letter;            // first letter of the last name
  std::string cursor;            // from the previous page's next_cursor
  std::size_t limit = 50;        // 1 … 500
};

struct AuditQuery {
  std::string subject;  // a guardian, family, child, key or policy id
  std::string actor;    // an actor id (API key id, guardian id)
  std::string type;     // an event type
  std::int64_t from_us = 0;  // recorded at or after (0: no bound)
  std::int64_t to_us = 0;    // recorded before (0: no bound)
  std::string cursor;
  std::size_t limit = 100;   // 1 … 1000
};

struct SessionInfo {
  std::string tenant;
  std::string guardian_id;
  std::string session_id;
  std::int64_t expires_at_us = 0;
  bool must_change_password = false;
};

class ReadModels {
 public:
  // `log` renders audit lines (the audit read model indexes the log).
  // `runner` may be null (e.g. a read-only replay): then nothing waits.
  ReadModels(ReadModelDb& db, eventstore::EventStore& log, const domain::Clock& clock,
             ProjectionRunner* runner = nullptr)
      : db_(db), log_(log), clock_(clock), runner_(runner), cards_(make_card_cache()) {}

  // Read your writes: waits (at most `timeout`, 5 s by default) until every
  // read model has applied `position`. False when the wait ran out.
  bool wait_for(std::uint64_t position, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::uint64_t applied() const;

  // Each refuses with not_found for an unknown (or foreign) id.
  Result<nlohmann::json> guardian(const std::string& tenant, const std::string& guardian_id);
  // The same answer as JSON text (guardian(…)->dump()), for the hottest read
  // of the API. The rendering is remembered per guardian and reused while the
  // three rows it is built from are byte for byte the same and the time-bound
  // fields (status, lock, pending reset, active sessions) cannot have changed.
  Result<std::string> guardian_text(const std::string& tenant, const std::string& guardian_id);
  Result<nlohmann::json> family(const std::string& tenant, const std::string& family_id);
  Result<nlohmann::json> search_guardians(const std::string& tenant, const GuardianSearch& query);
  Result<nlohmann::json> settings(const std::string& tenant);
  Result<nlohmann::json> sms_credits(const std::string& tenant, const std::string& cursor = "",
                                     std::size_t limit = 100);
  // version 0: every version.
  Result<nlohmann::json> acceptances(const std::string& tenant, const std::string& policy_id,
                                     std::int64_t version, const std::string& cursor = "",
                                     std::size_t limit = 100);
  // {"family_id","accepted":[…],"outstanding":[{"policy_id","title","version"}]}
  Result<nlohmann::json> family_policies(const std::string& tenant, const std::string& family_id);
  Result<nlohmann::json> audit(const std::string& tenant, const AuditQuery& query);
  // The session a token hash opens, if it exists and has not expired.
  Result<std::optional<SessionInfo>> session(const std::string& token_hash);

  // What the read models' store holds in memory (for /metrics).
  StoreMemory memory() const { return db_.memory(); }

 private:
  Result<nlohmann::json> guardian_card(const std::string& tenant, const std::string& guardian_id,
                                       const nlohmann::json* children);

  struct CardCache;

  static std::shared_ptr<CardCache> make_card_cache();

  ReadModelDb& db_;
  eventstore::EventStore& log_;
  const domain::Clock& clock_;
  ProjectionRunner* runner_;
  std::shared_ptr<CardCache> cards_;
};

// Every projection of SPEC §5, ready for a ProjectionRunner.
std::vector<std::unique_ptr<Projection>> make_all_projections(ReadModelDb& db);

}  // namespace latchkey::projections
