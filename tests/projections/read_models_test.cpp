// Each read model on scripted histories: given commands, when the runner
// catches up, then these answers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "projections/read_side.hpp"

namespace latchkey::testing {
namespace {

using nlohmann::json;

TEST(LoginState, AGuardiansCardFollowsTheirAccount) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_guardian("ana@example.com");
  rs.catch_up();
  auto card = rs.answers->guardian(h.tenant_id, g);
  ASSERT_TRUE(card.ok());
  EXPECT_EQ((*card)["status"], "no_account");
  EXPECT_TRUE((*card)["login_id"].is_null());  // empty until the first login
  EXPECT_EQ((*card)["login_count"], 0);
  EXPECT_TRUE((*card)["last_login"].is_null());
  EXPECT_EQ((*card)["can_log_in"], true);
  EXPECT_EQ((*card)["email"], "ana@example.com");

  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {g, kGoodPassword, ""}).ok());
  h.given_session("ana@example.com");
  rs.catch_up();
  card = rs.answers->guardian(h.tenant_id, g);
  EXPECT_EQ((*card)["status"], "active");
  EXPECT_EQ((*card)["login_id"], "ana@example.com");
  EXPECT_EQ((*card)["login_count"], 1);
  EXPECT_EQ((*card)["active_sessions"], 1);
  EXPECT_FALSE((*card)["last_login"].is_null());

  ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "email"}).ok());
  rs.catch_up();
  card = rs.answers->guardian(h.tenant_id, g);
  EXPECT_EQ((*card)["pending_reset"]["channel"], "email");
  h.clock.advance_seconds(1801);  // the link expires: no longer pending, without any event
  card = rs.answers->guardian(h.tenant_id, g);
  EXPECT_TRUE((*card)["pending_reset"].is_null());
}

// What /metrics reports about memory: the projections' cached rows (seen
// from any thread as of the last checkpoint), the write models cached, and
// the read models' memtables.
TEST(Memory, CachedRowsWriteModelsAndMemtablesAreReported) {
  Harness h;
  ReadSide rs(h);
  const auto before = rs.answers->memory();
  const auto models_before = h.handlers->cached_write_models();
  for (int i = 0; i < 20; ++i) {
    const auto g = h.given_guardian("g" + std::to_string(i) + "@example.com");
    ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "email"}).ok());
  }
  rs.catch_up();
  EXPECT_GE(rs.runner->cached_rows(), 20u) << "a card row per guardian, at least";
  EXPECT_EQ(rs.runner->cached_rows_seen(), rs.runner->cached_rows());
  EXPECT_GE(h.handlers->cached_write_models(), models_before + 20) << "each guardian loaded for its reset";
  EXPECT_GT(rs.answers->memory().memtable_bytes, before.memtable_bytes);
}

// While following the log the projections' caches age: rows untouched for a
// while are dropped, rows touched again are kept (or taken back with all
// they held), and a dropped row touched again is read back from the store.
TEST(Memory, FollowingTheLogKeepsOnlyTheRowsTouchedLately) {
  Harness h;
  projections::RunnerOptions options;
  options.age_rows_every_events = 10;
  ReadSide rs(h, "readmodels", options);
  std::vector<std::string> guardians;
  for (int i = 0; i < 30; ++i) guardians.push_back(h.given_guardian("g" + std::to_string(i) + "@example.com"));
  rs.catch_up();  // ends by ageing every row it cached
  const auto registered = rs.runner->cached_rows();
  EXPECT_GE(registered, 30u);

  auto allow = [&](int g, bool allowed) {
    ASSERT_TRUE(h.handlers->set_login_allowed(h.staff(), {guardians[g], allowed}).ok());
  };
  bool allowed0 = true;
  auto toggle0 = [&] {  // an event each time
    allowed0 = !allowed0;
    allow(0, allowed0);
  };
  allow(1, false);  // its aged rows are taken back, with everything they held
  for (int k = 0; k < 10; ++k) toggle0();
  rs.catch_up();  // drops the rows untouched since the last ageing
  const auto touched = rs.runner->cached_rows();
  EXPECT_LT(touched, 12u) << "guardians 0 and 1's rows, and what they share";
  EXPECT_GT(touched, 0u);
  EXPECT_EQ(rs.runner->cached_rows_seen(), touched);
  for (int k = 0; k < 10; ++k) toggle0();
  rs.catch_up();
  EXPECT_LT(rs.runner->cached_rows(), touched) << "guardian 1's rows went after a round untouched";

  allow(7, false);  // dropped: read back from the store
  rs.catch_up();
  for (const auto& [g, can_log_in] : std::vector<std::pair<int, bool>>{{0, allowed0}, {1, false}, {7, false}, {8, true}}) {
    auto card = rs.answers->guardian(h.tenant_id, guardians[g]);
    ASSERT_TRUE(card.ok());
    EXPECT_EQ((*card)["can_log_in"], can_log_in) << g;
    EXPECT_EQ((*card)["email"], "g" + std::to_string(g) + "@example.com") << g;
  }
}

TEST(LoginState, LockoutShowsUntilItRunsOut) {
  Harness h;
  h.given_tenant(R"({"lockout":{"max_failures":2,"lock_seconds":60}})");
  ReadSide rs(h);
  const auto g = h.given_registered_guardian("ana@example.com");
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(h.handlers->log_in(h.anonymous(), {"ana@example.com", "wrong"}).ok());
  rs.catch_up();
  auto card = rs.answers->guardian(h.tenant_id, g);
  EXPECT_EQ((*card)["status"], "locked");
  EXPECT_FALSE((*card)["locked_until"].is_null());
  h.clock.advance_seconds(61);
  card = rs.answers->guardian(h.tenant_id, g);
  EXPECT_EQ((*card)["status"], "active");
  EXPECT_TRUE((*card)["locked_until"].is_null());
}

// The remembered rendering of GET /guardians/{g} is always exactly the
// card rendered afresh: after every change, and as a lock, a link and a
// session run out with no event at all.
TEST(LoginState, TheRememberedCardTextIsAlwaysTheFreshCard) {
  Harness h;
  h.given_tenant(R"({"lockout":{"max_failures":2,"lock_seconds":60}})");
  ReadSide rs(h);
  const auto f = h.given_family("Rivera");
  const auto g = h.given_guardian("ana@example.com", "", f, "Ana", "Rivera");
  auto same = [&](const char* when) {
    rs.catch_up();
    auto fresh = rs.answers->guardian(h.tenant_id, g);
    ASSERT_TRUE(fresh.ok()) << when;
    for (int i = 0; i < 2; ++i) {  // a miss, then a hit
      auto text = rs.answers->guardian_text(h.tenant_id, g);
      ASSERT_TRUE(text.ok()) << when;
      EXPECT_EQ(*text, fresh->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << when;
    }
  };
  same("added");
  ASSERT_TRUE(h.handlers->add_child(h.staff(), {f, {"S-1", "Sam", "Rivera"}}).ok());
  same("child added (family row only)");
  ASSERT_TRUE(h.handlers->register_portal_account(h.staff(), {g, kGoodPassword, ""}).ok());
  h.given_session("ana@example.com");
  same("logged in");
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(h.handlers->log_in(h.anonymous(), {"ana@example.com", "wrong"}).ok());
  same("locked");
  h.clock.advance_seconds(61);
  same("lock ran out, no event");
  ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "email"}).ok());
  same("reset pending");
  h.clock.advance_seconds(31 * 60);
  same("link expired, no event");
  h.clock.advance_seconds(43200);
  same("session expired, no event");
  EXPECT_EQ(rs.answers->guardian_text(h.tenant_id, "nobody").error().code, "not_found");
}

// A guardian's stored row holds what the card shows and later events act
// on: many reset requests leave one pending link and no throttle history.
TEST(LoginState, TheRowKeepsOnlyPendingLinksAndNoThrottleHistory) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_guardian("ana@example.com");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "email"}).ok());
  }
  rs.catch_up();
  auto stored = rs.db->get("login_state/" + h.tenant_id + "/" + g);
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  const auto row = json::parse(**stored);
  ASSERT_EQ(row["resets"].size(), 1u);
  EXPECT_EQ(row["resets"][0]["token_hash"], "");
  EXPECT_TRUE(row["reset_requests_sent_us"].empty());
  auto card = rs.answers->guardian(h.tenant_id, g);
  ASSERT_TRUE(card.ok());
  EXPECT_EQ((*card)["pending_reset"]["channel"], "email");
}

TEST(Directory, OneRowPerGuardianWhateverTheNumberOfChildren) {
  Harness h;
  ReadSide rs(h);
  const auto f = h.given_family("Rivera");
  const auto ana = h.given_guardian("ana@example.com", "", f, "Ana", "Rivera");
  const auto ben = h.given_guardian("ben@example.com", "", f, "Ben", "Rivera");
  for (const char* c : {"S-1", "S-2", "S-3"}) ASSERT_TRUE(h.handlers->add_child(h.staff(), {f, {c, c, "Rivera"}}).ok());
  h.given_guardian("cy@example.com", "", "", "Cy", "Roberts");
  h.given_guardian("di@example.com", "", "", "Di", "Stone");
  rs.catch_up();

  auto family = rs.answers->family(h.tenant_id, f);
  ASSERT_TRUE(family.ok());
  EXPECT_EQ((*family)["guardians"].size(), 2u);
  EXPECT_EQ((*family)["children"].size(), 3u);
  auto card = rs.answers->guardian(h.tenant_id, ana);
  EXPECT_EQ((*card)["children"].size(), 3u);

  auto riv = rs.answers->search_guardians(h.tenant_id, {"riV", "", "", 50});
  ASSERT_TRUE(riv.ok());
  ASSERT_EQ((*riv)["items"].size(), 2u);
  EXPECT_EQ((*riv)["items"][0]["id"], ana);  // ordered by last, then first name
  EXPECT_EQ((*riv)["items"][1]["id"], ben);

  // The letter R, one per page.
  std::vector<std::string> seen;
  std::string cursor;
  do {
    auto page = rs.answers->search_guardians(h.tenant_id, {"", "R", cursor, 1});
    ASSERT_TRUE(page.ok());
    for (const auto& item : (*page)["items"]) seen.push_back(item["last_name"]);
    cursor = (*page)["next_cursor"].is_null() ? "" : (*page)["next_cursor"].get<std::string>();
  } while (!cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"Rivera", "Rivera", "Roberts"}));

  // A renamed guardian moves in the index.
  ASSERT_TRUE(h.handlers->update_guardian_contact(h.staff(), {ben, std::nullopt, std::string("Adams"), std::nullopt,
                                                              std::nullopt}).ok());
  rs.catch_up();
  EXPECT_EQ((*rs.answers->search_guardians(h.tenant_id, {"Riv", "", "", 50}))["items"].size(), 1u);
  EXPECT_EQ((*rs.answers->search_guardians(h.tenant_id, {"", "a", "", 50}))["items"].size(), 1u);
  EXPECT_FALSE(rs.answers->search_guardians(h.tenant_id, {"", "", "zz", 50}).ok());
}

TEST(Directory, TenantsAreIsolated) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_guardian("ana@example.com");
  rs.catch_up();
  EXPECT_EQ(rs.answers->guardian("other-tenant", g).error().code, "not_found");
  EXPECT_EQ((*rs.answers->search_guardians("other-tenant", {"", "", "", 50}))["items"].size(), 0u);
}

TEST(PolicyAcceptances, WhoAcceptedWhatAndWhatIsOutstanding) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_registered_guardian("ana@example.com");
  const auto session = h.given_session("ana@example.com");
  ASSERT_TRUE(h.handlers->publish_policy(h.admin(), {"photo", "Photo release", 1, "You may photograph my child.", ""}).ok());
  ASSERT_TRUE(h.handlers->publish_policy(h.admin(), {"pickup", "Pick-up policy", 1, "Only listed adults.", ""}).ok());
  ASSERT_TRUE(h.handlers->accept_policy(h.as_guardian(g), {session, "photo", 1}).ok());
  rs.catch_up();
  const std::string fid = (*rs.answers->guardian(h.tenant_id, g))["family_id"];
  ASSERT_TRUE(h.handlers->manually_accept_policy(h.staff(), {fid, "pickup", 1, "signed printed form on file"}).ok());
  rs.catch_up();

  auto photo = rs.answers->acceptances(h.tenant_id, "photo", 0);
  ASSERT_TRUE(photo.ok());
  ASSERT_EQ((*photo)["items"].size(), 1u);
  const auto& a = (*photo)["items"][0];
  EXPECT_EQ(a["method"], "electronic");
  EXPECT_EQ(a["accepted_by"]["kind"], "guardian");
  EXPECT_EQ(a["accepted_by"]["id"], g);
  EXPECT_EQ(a["accepted_by"]["name"], "Ana Rivera");
  EXPECT_TRUE(a["reason"].is_null());

  auto pickup = rs.answers->acceptances(h.tenant_id, "pickup", 1);
  const auto& m = (*pickup)["items"][0];
  EXPECT_EQ(m["method"], "manual");
  EXPECT_EQ(m["accepted_by"]["kind"], "staff");
  EXPECT_EQ(m["accepted_by"]["name"], "Front Desk");
  EXPECT_EQ(m["reason"], "signed printed form on file");

  EXPECT_EQ((*rs.answers->family_policies(h.tenant_id, fid))["outstanding"].size(), 0u);
  ASSERT_TRUE(h.handlers->publish_policy(h.admin(), {"photo", "Photo release", 2, "Photos and video.", ""}).ok());
  rs.catch_up();
  auto fp = rs.answers->family_policies(h.tenant_id, fid);
  ASSERT_EQ((*fp)["outstanding"].size(), 1u);
  EXPECT_EQ((*fp)["outstanding"][0]["policy_id"], "photo");
  EXPECT_EQ((*fp)["outstanding"][0]["version"], 2);
  EXPECT_EQ((*fp)["accepted"].size(), 2u);
}

TEST(SmsCredits, BalanceAndLedger) {
  Harness h;
  h.given_tenant(R"({"sms_enabled":true})");
  ReadSide rs(h);
  const auto g = h.given_guardian("ana@example.com", "+15551234567");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {3}).ok());
  ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "sms"}).ok());
  rs.catch_up();
  auto sms = rs.answers->sms_credits(h.tenant_id);
  ASSERT_TRUE(sms.ok());
  EXPECT_EQ((*sms)["balance"], 2);
  ASSERT_EQ((*sms)["ledger"].size(), 2u);
  EXPECT_EQ((*sms)["ledger"][0]["change"], 3);
  EXPECT_EQ((*sms)["ledger"][1]["change"], -1);
  EXPECT_EQ((*sms)["ledger"][1]["guardian_id"], g);
}

TEST(SessionIndex, AuthenticatesUntilRevokedOrExpired) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_registered_guardian("ana@example.com");
  const auto s1 = h.given_session("ana@example.com");
  const auto s2 = h.given_session("ana@example.com");
  rs.catch_up();
  auto found = rs.answers->session(h.tokens.hash(s1));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->guardian_id, g);
  EXPECT_EQ((*found)->tenant, h.tenant_id);
  EXPECT_FALSE((*rs.answers->session(h.tokens.hash("nonsense"))).has_value());

  ASSERT_TRUE(h.handlers->change_password(h.as_guardian(g), {s1, kGoodPassword, kOtherGoodPassword}).ok());
  rs.catch_up();
  EXPECT_TRUE((*rs.answers->session(h.tokens.hash(s1))).has_value());   // kept
  EXPECT_FALSE((*rs.answers->session(h.tokens.hash(s2))).has_value());  // revoked
  h.clock.advance_seconds(43201);
  EXPECT_FALSE((*rs.answers->session(h.tokens.hash(s1))).has_value());  // expired
}

TEST(AuditLog, ReadableLinesFilteredAndPaged) {
  Harness h;
  ReadSide rs(h);
  const auto g = h.given_registered_guardian("ana@example.com");
  h.given_session("ana@example.com");
  ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "email"}).ok());
  rs.catch_up();

  auto all = rs.answers->audit(h.tenant_id, {});
  ASSERT_TRUE(all.ok());
  EXPECT_GE((*all)["items"].size(), 6u);
  auto mine = rs.answers->audit(h.tenant_id, {g, "", "", 0, 0, "", 100});
  ASSERT_TRUE(mine.ok());
  bool saw_reset = false;
  for (const auto& e : (*mine)["items"]) {
    EXPECT_EQ(e["subject"], g);
    EXPECT_EQ(e["source_ip"], "203.0.113.7");
    if (e["type"] == "ResetRequested") {
      saw_reset = true;
      EXPECT_EQ(e["actor"]["name"], "Front Desk");
      EXPECT_NE(e["summary"].get<std::string>().find("a***@example.com"), std::string::npos);
      EXPECT_EQ(e["summary"].get<std::string>().find("ana@example.com"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_reset);
  auto logins = rs.answers->audit(h.tenant_id, {"", "", "LoginSucceeded", 0, 0, "", 100});
  ASSERT_EQ((*logins)["items"].size(), 1u);
  auto by_staff = rs.answers->audit(h.tenant_id, {"", "key-staff", "", 0, 0, "", 100});
  for (const auto& e : (*by_staff)["items"]) EXPECT_EQ(e["actor"]["id"], "key-staff");

  // Paging: two at a time gives the same lines as one page.
  std::vector<json> paged;
  std::string cursor;
  do {
    auto page = rs.answers->audit(h.tenant_id, {"", "", "", 0, 0, cursor, 2});
    ASSERT_TRUE(page.ok());
    for (auto& e : (*page)["items"]) paged.push_back(e);
    cursor = (*page)["next_cursor"].is_null() ? "" : (*page)["next_cursor"].get<std::string>();
  } while (!cursor.empty());
  EXPECT_EQ(json(paged), (*all)["items"]);

  // Time filter: nothing before the first event, everything before "later".
  auto later = h.clock.now_us() + 1'000'000;
  EXPECT_EQ((*rs.answers->audit(h.tenant_id, {"", "", "", later, 0, "", 100}))["items"].size(), 0u);
  EXPECT_EQ((*rs.answers->audit(h.tenant_id, {"", "", "", 0, later, "", 1000}))["items"], (*all)["items"]);
}

// A write set readied early (sorted on the thread that filled it) still
// takes later writes, and of several writes to a key the last one wins,
// whether the set is committed small (a batch) or large (an ingested file).
TEST(ReadModelStore, AWriteSetReadiedEarlyKeepsTheLastWriteOfEachKey) {
  TempDir dir;
  auto opened = projections::open_read_model_db(dir.str("rm"));
  ASSERT_TRUE(opened.ok());
  auto& db = **opened;
  for (const std::size_t n : {10u, 30'000u}) {
    const std::string p = "t" + std::to_string(n) + "/";
    auto writes = db.begin();
    for (std::size_t i = n; i-- > 0;) writes->put(p + std::to_string(i), "first");
    writes->put(p + "0", "second");
    writes->erase(p + "1");
    writes->prepare();
    writes->put(p + "0", "third");
    writes->put(p + "1", "back");
    writes->erase(p + "2");
    writes->prepare();
    writes->put(p + "3", "fourth");
    ASSERT_TRUE(db.commit(*writes).ok());
    EXPECT_EQ(*db.get(p + "0"), std::optional<std::string>("third")) << n;
    EXPECT_EQ(*db.get(p + "1"), std::optional<std::string>("back")) << n;
    EXPECT_EQ(*db.get(p + "2"), std::optional<std::string>()) << n;
    EXPECT_EQ(*db.get(p + "3"), std::optional<std::string>("fourth")) << n;
    EXPECT_EQ(*db.get(p + "4"), std::optional<std::string>("first")) << n;
    std::size_t stored = 0;
    ASSERT_TRUE(db.scan(p, "", [&](std::string_view, std::string_view) { return ++stored > 0; }).ok());
    EXPECT_EQ(stored, n - 1) << n;
  }
}

TEST(ReadYourWrites, AQueryWaitsForItsPosition) {
  Harness h;
  ReadSide rs(h);
  rs.runner->start();
  const auto g = h.given_guardian("ana@example.com");
  auto r = h.handlers->set_login_allowed(h.staff(), {g, false});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(rs.answers->wait_for(r->position));
  EXPECT_EQ((*rs.answers->guardian(h.tenant_id, g))["can_log_in"], false);
  // A position that never comes: the wait runs out, bounded.
  auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(rs.answers->wait_for(h.head() + 100, std::chrono::milliseconds(200)));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
  rs.runner->stop();
}

}  // namespace
}  // namespace latchkey::testing
