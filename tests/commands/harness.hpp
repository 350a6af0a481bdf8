// A command harness: real handlers over a real RocksDB store in a temporary
// directory, with a fake clock, libsodium's minimum Argon2id cost and a fixed
// token key. Tests read as given / when / then:
//   given  h.tenant(), h.family(), h.guardian() …
//   when   h.handlers.some_command(h.staff(), {...})
//   then   h.types_since(p) == {...}, or result.error().code == "…"
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "latchkey/commands/commands.hpp"
#include "latchkey/commands/sodium_ports.hpp"
#include "latchkey/domain/events.hpp"
#include "latchkey/domain/family.hpp"
#include "latchkey/domain/guardian.hpp"
#include "latchkey/domain/messages.hpp"
#include "latchkey/domain/tenant.hpp"
#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::testing {

class FakeClock final : public domain::Clock {
 public:
  domain::Micros now_us() const override { return now_.load(); }
  void advance_seconds(std::int64_t s) { now_.fetch_add(s * domain::kMicrosPerSecond); }

 private:
  std::atomic<domain::Micros> now_{1'763'900'000'000'000};  // 2025-11-23
};

// A password that meets the default policy and is not common.
inline constexpr const char* kGoodPassword = "Correct7Horse9Staple";
inline constexpr const char* kOtherGoodPassword = "Violet3Otter8Lantern";

// "ok" for a success, else the refusal's code: EXPECT_EQ(code_of(r), "not_found").
template <class R>
std::string code_of(const R& result) {
  return result.ok() ? std::string("ok") : result.error().code;
}

// The refusal's field and details; empty for a success.
template <class R>
std::string field_of(const R& result) {
  return result.ok() ? std::string() : result.error().field;
}
template <class R>
std::vector<std::string> details_of(const R& result) {
  return result.ok() ? std::vector<std::string>{} : result.error().details;
}

class Harness {
 public:
  explicit Harness(bool durable = false) {
    eventstore::RocksDbOptions options;
    options.sync = durable;
    auto opened = eventstore::open_rocksdb_event_store(dir.str("events"), options);
    if (!opened) throw std::runtime_error(opened.error().message);
    store = std::move(*opened);
    handlers = std::make_unique<commands::CommandHandlers>(
        *store, commands::Ports{clock, random, hasher, tokens});
  }

  // ---- contexts ----
  commands::CommandContext platform() const { return ctx({"platform", "platform", "Platform"}); }
  commands::CommandContext admin() const { return ctx({"staff", "key-admin", "Office Admin"}); }
  commands::CommandContext staff() const { return ctx({"staff", "key-staff", "Front Desk"}); }
  commands::CommandContext registrar() const { return ctx({"staff", "key-registrar", "Registration Form"}); }
  commands::CommandContext anonymous() const { return ctx({"system", "", "public"}); }
  commands::CommandContext as_guardian(const std::string& guardian_id) const {
    return ctx({"guardian", guardian_id, ""});
  }

  // ---- givens ----
  // Creates the tenant (once) and returns the position of the last event.
  std::uint64_t given_tenant(const std::string& patch_json = "");
  std::string given_family(const std::string& name = "Rivera");
  // A guardian in `family` (a new family when empty).
  std::string given_guardian(const std::string& email = "ana@example.com", const std::string& phone = "+15551234567",
                             std::string family = "", const std::string& first = "Ana",
                             const std::string& last = "Rivera");
  // A guardian with a portal account (password kGoodPassword).
  std::string given_registered_guardian(const std::string& email = "ana@example.com");
  // Logs in and returns the session token (fails the test otherwise).
  std::string given_session(const std::string& login, const std::string& password = kGoodPassword);

  // ---- thens ----
  std::vector<eventstore::RecordedEvent> events_since(std::uint64_t after_position);
  std::vector<std::string> types_since(std::uint64_t after_position);
  std::vector<domain::DomainEvent> decoded_since(std::uint64_t after_position);
  std::uint64_t head() const { return store->head(); }
  std::vector<domain::OutboxMessage> outbox();
  std::vector<domain::OutboxMessage> outbox_for(const std::string& to);
  // The token in the last reset link sent to `to`; empty when none.
  std::string last_reset_token(const std::string& to);
  // The password on the "Temporary password: …" line of the last message to `to`.
  std::string last_temporary_password(const std::string& to);
  // The write models, folded from their streams as the handlers fold them.
  domain::GuardianState guardian_state(const std::string& guardian_id);
  domain::TenantState tenant_state();
  domain::FamilyState family_state(const std::string& family_id);
  // The guardian holding a login ID (or email) in the registry; empty when free.
  std::string login_owner(const std::string& login_id);
  // The decoded events of one type appended after `after_position`.
  template <class E>
  std::vector<E> decoded_of(std::uint64_t after_position) {
    std::vector<E> out;
    for (const auto& e : decoded_since(after_position)) {
      if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
    }
    return out;
  }

  TempDir dir;
  FakeClock clock;
  commands::SodiumRandom random;
  commands::Argon2idHasher hasher{commands::HashCost::test};
  commands::Blake2bTokenHasher tokens{std::array<std::uint8_t, 32>{1, 2, 3, 4, 5, 6, 7, 8}};
  std::unique_ptr<eventstore::EventStore> store;
  std::unique_ptr<commands::CommandHandlers> handlers;
  std::string tenant_id = "sunny-days";

 private:
  commands::CommandContext ctx(eventstore::Actor actor) const {
    return {tenant_id, std::move(actor), "corr-test", "", "203.0.113.7"};
  }
};

}  // namespace latchkey::testing
