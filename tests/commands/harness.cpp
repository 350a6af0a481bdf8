#include "commands/harness.hpp"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "latchkey/domain/streams.hpp"

namespace latchkey::testing {

std::uint64_t Harness::given_tenant(const std::string& patch_json) {
  auto created = handlers->create_tenant(platform(), {tenant_id, "Sunny Days Daycare"});
  if (!created && created.error().code != "tenant_exists") {
    ADD_FAILURE() << created.error().message;
  }
  if (!patch_json.empty()) {
    auto patch = nlohmann::json::parse(patch_json);
    auto r = handlers->configure_tenant(admin(), {&patch});
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
  return head();
}

std::string Harness::given_family(const std::string& name) {
  given_tenant();
  auto r = handlers->register_family(staff(), {name});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r->id : "";
}

std::string Harness::given_guardian(const std::string& email, const std::string& phone, std::string family,
                                    const std::string& first, const std::string& last) {
  if (family.empty()) family = given_family(last);
  auto r = handlers->add_guardian(staff(), {family, {first, last, email, phone, true}});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r->id : "";
}

std::string Harness::given_registered_guardian(const std::string& email) {
  auto id = given_guardian(email);
  auto r = handlers->register_portal_account(staff(), {id, kGoodPassword, ""});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return id;
}

std::string Harness::given_session(const std::string& login, const std::string& password) {
  auto r = handlers->log_in(anonymous(), {login, password});
  EXPECT_TRUE(r.ok()) << r.error().code;
  return r.ok() ? r->session_token : "";
}

std::vector<eventstore::RecordedEvent> Harness::events_since(std::uint64_t after_position) {
  auto r = store->read_all(after_position + 1, 1'000'000);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<eventstore::RecordedEvent>{};
}

std::vector<std::string> Harness::types_since(std::uint64_t after_position) {
  std::vector<std::string> types;
  for (const auto& e : events_since(after_position)) types.push_back(e.data.type);
  return types;
}

std::vector<domain::DomainEvent> Harness::decoded_since(std::uint64_t after_position) {
  std::vector<domain::DomainEvent> out;
  for (const auto& e : events_since(after_position)) {
    auto d = domain::decode_event(e.data.type, e.data.schema_version, e.data.payload);
    EXPECT_TRUE(d.ok()) << e.data.type;
    if (d) out.push_back(*d);
  }
  return out;
}

// The outbox's messages, decoding only entries whose stored text passes `keep`.
static std::vector<domain::OutboxMessage> decode_outbox(eventstore::EventStore& store,
                                                        const std::function<bool(std::string_view)>& keep) {
  std::vector<domain::OutboxMessage> out;
  auto entries = store.read_outbox("", 1'000'000);
  EXPECT_TRUE(entries.ok());
  if (!entries) return out;
  for (const auto& e : *entries) {
    if (!keep(e.value)) continue;
    auto m = domain::decode_outbox_message(e.value);
    EXPECT_TRUE(m.ok());
    if (m) out.push_back(std::move(*m));
  }
  return out;
}

std::vector<domain::OutboxMessage> Harness::outbox() {
  return decode_outbox(*store, [](std::string_view) { return true; });
}

std::vector<domain::OutboxMessage> Harness::outbox_for(const std::string& to) {
  // Only entries whose text holds the address are decoded (an address JSON
  // writes as it is): a generated history asks for one guardian's messages
  // thousands of times, and decoding the whole outbox each time made that
  // quadratic in its size.
  const bool verbatim = std::none_of(to.begin(), to.end(), [](unsigned char c) {
    return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
  });
  auto out = decode_outbox(*store, [&](std::string_view text) {
    return !verbatim || text.find(to) != std::string_view::npos;
  });
  std::erase_if(out, [&](const domain::OutboxMessage& m) { return m.to != to; });
  return out;
}

std::string Harness::last_reset_token(const std::string& to) {
  std::string token;
  for (const auto& m : outbox_for(to)) {
    if (m.kind != "reset_link") continue;
    auto at = m.body.find("token=");
    if (at == std::string::npos) continue;
    auto end = m.body.find_first_of(" \n", at);
    token = m.body.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
  }
  return token;
}

std::string Harness::last_temporary_password(const std::string& to) {
  std::string password;
  for (const auto& m : outbox_for(to)) {
    if (m.kind != "temporary_password") continue;
    static const std::string kPrefix = "Temporary password: ";
    auto at = m.body.find(kPrefix);
    if (at == std::string::npos) continue;
    auto end = m.body.find('\n', at);
    password = m.body.substr(at + kPrefix.size(), end - at - kPrefix.size());
  }
  return password;
}

namespace {

template <class State>
State fold(eventstore::EventStore& store, const std::string& stream) {
  State state;
  auto events = store.read_stream(stream, 1, 1'000'000);
  EXPECT_TRUE(events.ok());
  if (!events) return state;
  for (const auto& e : *events) {
    auto d = domain::decode_event(e.data.type, e.data.schema_version, e.data.payload);
    EXPECT_TRUE(d.ok()) << e.data.type;
    if (d) state.apply(*d, e.data.recorded_at_us);
  }
  return state;
}

}  // namespace

domain::GuardianState Harness::guardian_state(const std::string& guardian_id) {
  return fold<domain::GuardianState>(*store, domain::streams::guardian(tenant_id, guardian_id));
}

domain::TenantState Harness::tenant_state() {
  return fold<domain::TenantState>(*store, domain::streams::tenant(tenant_id));
}

domain::FamilyState Harness::family_state(const std::string& family_id) {
  return fold<domain::FamilyState>(*store, domain::streams::family(tenant_id, family_id));
}

std::string Harness::login_owner(const std::string& login_id) {
  return fold<domain::LoginIdState>(*store, domain::streams::login(tenant_id, login_id)).owner;
}

}  // namespace latchkey::testing
