// PolicyAcceptancesProjection: the published policies, who accepted which
// version for which family (electronically or manually), and per family what
// it has accepted.
#include "latchkey/domain/encoding.hpp"
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class PolicyAcceptancesProjection final : public Projection {
 public:
  explicit PolicyAcceptancesProjection(ReadModelDb& db) : policies_(db), names_(db) {}
  std::string_view name() const override { return "policy_acceptances"; }
  std::uint32_t schema_version() const override { return 1; }

  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
             WriteSet& writes) override {
    const auto& t = recorded.data.tenant;
    auto accepted = [&](const std::string& family_id, const std::string& policy_id, std::int64_t version,
                        ActorRow accepted_by, const char* method, const std::string& reason) {
      text_.clear();
      write_json(text_, AcceptanceRow{family_id, policy_id, version, method, std::move(accepted_by),
                                      reason.empty() ? std::nullopt : std::optional<std::string>(reason),
                                      domain::format_time(recorded.data.recorded_at_us), recorded.position});
      writes.put(keys::acceptance(t, policy_id, version, family_id), text_);
      writes.put(keys::family_acceptance(t, family_id, policy_id, version), text_);
    };
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, domain::PolicyPublished>) {
            auto& p = policies_.change(keys::policy(t, e.policy_id));
            p.policy_id = e.policy_id;
            p.title = e.title;
            p.versions[e.version] = e.text_sha256;
          } else if constexpr (std::is_same_v<E, domain::GuardianAdded> ||
                               std::is_same_v<E, domain::GuardianContactUpdated>) {
            names_.change(name_key(t, e.guardian_id)) = {"", e.first_name, e.last_name};
          } else if constexpr (std::is_same_v<E, domain::PolicyAccepted>) {
            const auto* n = names_.find(name_key(t, e.guardian_id));
            const std::string who = n ? n->first_name + " " + n->last_name : "";
            accepted(e.family_id, e.policy_id, e.version,
                     ActorRow{"guardian", e.guardian_id, who}, "electronic", "");
          } else if constexpr (std::is_same_v<E, domain::PolicyManuallyAccepted>) {
            accepted(e.family_id, e.policy_id, e.version,
                     ActorRow{"staff", e.staff_key_id, e.staff_name}, "manual", e.reason);
          }
        },
        event);
  }
  std::function<void(WriteSet&)> take_changes() override {
    return [a = policies_.take_changes(), b = names_.take_changes()](WriteSet& w) {
      a(w);
      b(w);
    };
  }
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) override {
    return projections::take_changes_in_place(parts, rows_per_part, policies_, names_);
  }
  void trim_cache() override {
    policies_.trim_cache();
    names_.trim_cache();
  }
  void age_cache() override {
    policies_.age_cache();
    names_.age_cache();
  }
  std::size_t cached_rows() const override { return policies_.cached() + names_.cached(); }
  bool holds_rows() const override { return true; }
  void reset(Stored stored) override {
    policies_.reset(stored);
    names_.reset(stored);
  }

 private:
  static std::string name_key(std::string_view t, std::string_view g) {
    return "policy_acceptances/g/" + std::string(t) + "/" + std::string(g);
  }
  Rows<domain::PolicyRecord> policies_;
  Rows<GuardianNameRow> names_;
  std::string text_;  // an acceptance being written, kept for its capacity
};

}  // namespace

std::unique_ptr<Projection> make_policy_acceptances_projection(ReadModelDb& db) {
  return std::make_unique<PolicyAcceptancesProjection>(db);
}

}  // namespace latchkey::projections
