// SmsCreditsProjection: each tenant's SMS credit balance and its ledger.
#include "latchkey/domain/encoding.hpp"
#include "latchkey/projections/read_model_db.hpp"
#include "projections.hpp"
#include "rows.hpp"

namespace latchkey::projections {
namespace {

class SmsCreditsProjection final : public Projection {
 public:
  explicit SmsCreditsProjection(ReadModelDb& db) : balances_(db) {}
  std::string_view name() const override { return "sms_credits"; }
  std::uint32_t schema_version() const override { return 1; }

  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event,
             WriteSet& writes) override {
    const auto& t = recorded.data.tenant;
    auto entry = [&](std::int64_t change, std::int64_t balance, const char* reason, const std::string& guardian_id) {
      balances_.change(keys::sms_balance(t)).balance = balance;
      const auto& a = recorded.data.actor;
      text_.clear();
      write_json(text_, SmsLedgerRow{recorded.position, domain::format_time(recorded.data.recorded_at_us), change,
                                     balance, reason,
                                     guardian_id.empty() ? std::nullopt : std::optional<std::string>(guardian_id),
                                     ActorRow{a.kind, a.id, a.name}});
      writes.put(keys::sms_ledger_prefix(t) + be64(recorded.position), text_);
    };
    if (const auto* added = std::get_if<domain::SmsCreditsAdded>(&event)) {
      entry(added->amount, added->balance, "credits_added", "");
    } else if (const auto* spent = std::get_if<domain::SmsCreditSpent>(&event)) {
      entry(-1, spent->balance, "reset_link_sms", spent->guardian_id);
    }
  }
  std::function<void(WriteSet&)> take_changes() override { return balances_.take_changes(); }
  std::vector<std::function<void(WriteSet&)>> take_changes_in_place(
      std::size_t parts, std::size_t rows_per_part) override {
    return balances_.take_changes_in_place(parts, rows_per_part);
  }
  void trim_cache() override { balances_.trim_cache(); }
  void age_cache() override { balances_.age_cache(); }
  std::size_t cached_rows() const override { return balances_.cached(); }
  bool holds_rows() const override { return true; }
  void reset(Stored stored) override { balances_.reset(stored); }

 private:
  Rows<SmsBalanceRow> balances_;
  std::string text_;  // a ledger entry being written, kept for its capacity
};

}  // namespace

std::unique_ptr<Projection> make_sms_credits_projection(ReadModelDb& db) {
  return std::make_unique<SmsCreditsProjection>(db);
}

}  // namespace latchkey::projections
