// SessionIndexProjection: token hash → (tenant, guardian, session, expiry),
// the index that authenticates guardian requests on the read side.
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class SessionIndexProjection final : public Projection {
 public:
  explicit SessionIndexProjection(ReadModelDb& db) : sessions_(db) {}
  std::string_view name() const override { return "sessions"; }
  std::uint32_t schema_version() const override { return 1; }

  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
             WriteSet& writes) override {
    const auto& t = recorded.data.tenant;
    const auto at = recorded.data.recorded_at_us;
    auto revoke = [&](GuardianSessionsRow& row, const std::string& session_id) {
      auto it = row.sessions.find(session_id);
      if (it == row.sessions.end()) return;
      writes.erase(keys::session(it->second.token_hash));
      row.sessions.erase(it);
    };
    auto write = [&](const std::string& guardian_id, const std::string& session_id, const domain::Session& s) {
      text_.clear();
      write_json(text_, SessionInfo{t, guardian_id, session_id, s.expires_at_us, s.must_change_password});
      writes.put(keys::session(s.token_hash), text_);
    };
    auto revoke_all = [&](const std::string& guardian_id, const std::vector<std::string>& ids) {
      if (ids.empty()) return;
      auto& row = sessions_.change(keys::guardian_sessions(t, guardian_id));
      for (const auto& id : ids) revoke(row, id);
    };
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, domain::LoginSucceeded>) {
            auto& row = sessions_.change(keys::guardian_sessions(t, e.guardian_id));
            // Forget sessions that have expired by now.
            for (auto it = row.sessions.begin(); it != row.sessions.end();) {
              if (it->second.expires_at_us <= at) {
                writes.erase(keys::session(it->second.token_hash));
                it = row.sessions.erase(it);
              } else {
                ++it;
              }
            }
            domain::Session s{e.token_hash, e.expires_at_us, e.must_change_password};
            row.sessions[e.session_id] = s;
            write(e.guardian_id, e.session_id, s);
          } else if constexpr (std::is_same_v<E, domain::SessionEnded>) {
            revoke_all(e.guardian_id, {e.session_id});
          } else if constexpr (std::is_same_v<E, domain::PasswordChanged>) {
            revoke_all(e.guardian_id, e.revoked_sessions);
            if (!e.kept_session_id.empty()) {
              auto& row = sessions_.change(keys::guardian_sessions(t, e.guardian_id));
              if (auto it = row.sessions.find(e.kept_session_id); it != row.sessions.end()) {
                it->second.must_change_password = false;
                write(e.guardian_id, e.kept_session_id, it->second);
              }
            }
          } else if constexpr (std::is_same_v<E, domain::LoginPermissionChanged> ||
                               std::is_same_v<E, domain::TemporaryPasswordIssued> ||
                               std::is_same_v<E, domain::PortalLoginReset>) {
            revoke_all(e.guardian_id, e.revoked_sessions);
          }
        },
        event);
  }
  std::function<void(WriteSet&)> take_changes() override { return sessions_.take_changes(); }
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) override {
    return sessions_.take_changes_in_place(parts, rows_per_part);
  }
  void trim_cache() override { sessions_.trim_cache(); }
  void age_cache() override { sessions_.age_cache(); }
  std::size_t cached_rows() const override { return sessions_.cached(); }
  bool holds_rows() const override { return true; }
  void reset(Stored stored) override { sessions_.reset(stored); }

 private:
  Rows<GuardianSessionsRow> sessions_;
  std::string text_;  // a session row being written, kept for its capacity
};

}  // namespace

std::unique_ptr<Projection> make_session_index_projection(ReadModelDb& db) {
  return std::make_unique<SessionIndexProjection>(db);
}

}  // namespace latchkey::projections
