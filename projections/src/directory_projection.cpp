// DirectoryProjection: families with their guardians and children, and the
// guardian name index (last name, first name) used for search.
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class DirectoryProjection final : public Projection {
 public:
  explicit DirectoryProjection(ReadModelDb& db) : families_(db), names_(db) {}
  std::string_view name() const override { return "directory"; }
  std::uint32_t schema_version() const override { return 1; }

  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
             WriteSet& writes) override {
    const auto& t = recorded.data.tenant;
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, domain::FamilyRegistered>) {
            auto& f = families_.change(keys::family(t, e.family_id));
            f.id = e.family_id;
            f.name = e.name;
          } else if constexpr (std::is_same_v<E, domain::GuardianLinked>) {
            families_.change(keys::family(t, e.family_id)).guardian_ids.push_back(e.guardian_id);
          } else if constexpr (std::is_same_v<E, domain::ChildAdded>) {
            families_.change(keys::family(t, e.family_id))
                .children.push_back(ChildRow{e.child_id, e.first_name, e.last_name});
          } else if constexpr (std::is_same_v<E, domain::GuardianAdded>) {
            names_.change(keys::guardian_name(t, e.guardian_id)) = {e.family_id, e.first_name, e.last_name};
            writes.put(keys::name_index(t, e.last_name, e.first_name, e.guardian_id), e.guardian_id);
          } else if constexpr (std::is_same_v<E, domain::GuardianContactUpdated>) {
            auto& n = names_.change(keys::guardian_name(t, e.guardian_id));
            if (n.first_name != e.first_name || n.last_name != e.last_name) {
              writes.erase(keys::name_index(t, n.last_name, n.first_name, e.guardian_id));
              writes.put(keys::name_index(t, e.last_name, e.first_name, e.guardian_id), e.guardian_id);
              n.first_name = e.first_name;
              n.last_name = e.last_name;
            }
          }
        },
        event);
  }
  std::function<void(WriteSet&)> take_changes() override {
    return [a = families_.take_changes(), b = names_.take_changes()](WriteSet& w) {
      a(w);
      b(w);
    };
  }
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) override {
    return projections::take_changes_in_place(parts, rows_per_part, families_, names_);
  }
  void trim_cache() override {
    families_.trim_cache();
    names_.trim_cache();
  }
  void age_cache() override {
    families_.age_cache();
    names_.age_cache();
  }
  std::size_t cached_rows() const override { return families_.cached() + names_.cached(); }
  bool holds_rows() const override { return true; }
  void reset(Stored stored) override {
    families_.reset(stored);
    names_.reset(stored);
  }

 private:
  Rows<FamilyRow> families_;
  Rows<GuardianNameRow> names_;
};

}  // namespace

std::unique_ptr<Projection> make_directory_projection(ReadModelDb& db) {
  return std::make_unique<DirectoryProjection>(db);
}

}  // namespace latchkey::projections
