// A read model rebuilt from the log equals the live one, byte for byte in its
// JSON answers (SPEC §5), over a randomised history of more than 10,000
// events; a failed batch leaves rows and checkpoint consistent; a projection
// whose schema version changes is rebuilt, not mixed.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "projections/read_side.hpp"

namespace latchkey::testing {
namespace {

using nlohmann::json;

// Drives random commands of every kind until the log holds `events` events.
struct History {
  std::vector<std::string> families, guardians, emails, sessions, policies;
  std::vector<std::string> tenants{"sunny-days", "maple-gym"};

  void generate(Harness& h, std::uint64_t events, unsigned seed) {
    std::mt19937 rng(seed);
    auto pick = [&](auto& v) -> auto& { return v[rng() % v.size()]; };
    for (const auto& t : tenants) {
      h.tenant_id = t;
      h.given_tenant(R"({"sms_enabled":true,"max_reset_requests_per_hour":100,"lockout":{"max_failures":3,"lock_seconds":300}})");
      ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {1000}).ok());
      ASSERT_TRUE(h.handlers->publish_policy(h.admin(), {"photo", "Photo release", 1, "Photos.", ""}).ok());
    }
    h.tenant_id = tenants[0];
    int n = 0;
    while (h.head() < events) {
      ++n;
      h.tenant_id = tenants[rng() % 2];
      const auto op = rng() % 100;
      if (guardians.size() < 20 || op < 12) {
        std::string family = families.empty() || rng() % 3 == 0 ? "" : pick(families);
        const std::string email = "p" + std::to_string(n) + "@example.com";
        auto f = family.empty() ? h.handlers->register_family(h.staff(), {"Fam" + std::to_string(n % 50)}) : Result<commands::Created>(commands::Created{0, family});
        if (!f) continue;
        if (family.empty()) families.push_back(f->id);
        auto g = h.handlers->add_guardian(h.staff(), {f->id, {"First" + std::to_string(n % 7), "Last" + std::to_string(n % 31), email, "+1555000" + std::to_string(1000 + n % 9000), true}});
        if (!g) continue;
        guardians.push_back(g->id);
        emails.push_back(email);
        if (rng() % 2) (void)h.handlers->register_portal_account(h.staff(), {g->id, kGoodPassword, ""});
        if (rng() % 2) (void)h.handlers->add_child(h.staff(), {f->id, {"C" + std::to_string(n), "Kid", "Last" + std::to_string(n % 31)}});
        continue;
      }
      const auto i = rng() % guardians.size();
      const auto& g = guardians[i];
      const auto& email = emails[i];
      if (op < 35) {
        auto s = h.handlers->log_in(h.anonymous(), {email, rng() % 4 ? kGoodPassword : "wrong"});
        if (s) sessions.push_back(s->session_token);
      } else if (op < 45) {
        (void)h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, rng() % 4 ? "email" : "sms"});
      } else if (op < 52) {
        (void)h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{email});
        auto token = h.last_reset_token(email);
        if (!token.empty() && rng() % 2) (void)h.handlers->redeem_token(h.anonymous(), {token, kGoodPassword, ""});
      } else if (op < 57) {
        (void)h.handlers->issue_temporary_password(h.staff(), {g});
      } else if (op < 62 && !sessions.empty()) {
        (void)h.handlers->log_out(h.anonymous(), {pick(sessions)});
      } else if (op < 66) {
        (void)h.handlers->set_login_allowed(h.staff(), {g, rng() % 3 != 0});
      } else if (op < 70) {
        (void)h.handlers->update_guardian_contact(h.staff(), {g, std::nullopt, "Renamed" + std::to_string(n % 13), std::nullopt, std::nullopt});
      } else if (op < 73) {
        (void)h.handlers->reset_portal_login(h.staff(), {{g}});
      } else if (op < 76 && !sessions.empty()) {
        (void)h.handlers->accept_policy(h.anonymous(), {pick(sessions), "photo", 1});
      } else if (op < 79 && !families.empty()) {
        (void)h.handlers->manually_accept_policy(h.staff(), {pick(families), "photo", 1, "paper form"});
      } else if (op < 82 && !sessions.empty()) {
        (void)h.handlers->change_login_id(h.anonymous(), {pick(sessions), "id" + std::to_string(n % 97)});
      } else if (op < 84) {
        (void)h.handlers->add_sms_credits(h.admin(), {static_cast<std::int64_t>(1 + rng() % 5)});
      } else if (op < 86) {
        h.clock.advance_seconds(static_cast<std::int64_t>(rng() % 4000));
      } else {
        (void)h.handlers->log_in(h.anonymous(), {email, "wrong"});
      }
    }
  }
};

// Every answer the read side gives about this history.
json all_answers(Harness& h, projections::ReadModels& a, const History& history) {
  json out;
  for (const auto& t : history.tenants) {
    out[t]["settings"] = *a.settings(t);
    out[t]["sms"] = *a.sms_credits(t, "", 1000);
    out[t]["photo"] = *a.acceptances(t, "photo", 0, "", 1000);
    json audit = json::array();
    std::string cursor;
    do {
      auto page = a.audit(t, {"", "", "", 0, 0, cursor, 1000});
      EXPECT_TRUE(page.ok());
      for (auto& e : (*page)["items"]) audit.push_back(e);
      cursor = (*page)["next_cursor"].is_null() ? "" : (*page)["next_cursor"].get<std::string>();
    } while (!cursor.empty());
    out[t]["audit"] = audit;
    // Narrow pages by subject and by actor, each starting where the one
    // before ended (inside a run of the index, where it holds runs).
    for (std::size_t i = 0; i < history.guardians.size(); i += 37) {
      for (const bool by_subject : {true, false}) {
        const auto& g = history.guardians[i];
        json entries = json::array();
        std::string after;
        do {
          auto page = a.audit(t, {by_subject ? g : "", by_subject ? "" : g, "", 0, 0, after, 3});
          EXPECT_TRUE(page.ok());
          if (!page.ok()) break;
          for (auto& e : (*page)["items"]) entries.push_back(e);
          after = (*page)["next_cursor"].is_null() ? "" : (*page)["next_cursor"].get<std::string>();
        } while (!after.empty());
        out[t][by_subject ? "audit_by_subject" : "audit_by_actor"][g] = entries;
      }
    }
    out[t]["search"] = *a.search_guardians(t, {"", "", "", 500});
    for (const auto& g : history.guardians) {
      auto card = a.guardian(t, g);
      out[t]["guardians"][g] = card.ok() ? *card : json(card.error().code);
    }
    for (const auto& f : history.families) {
      auto fam = a.family(t, f);
      out[t]["families"][f] = fam.ok() ? *fam : json(fam.error().code);
      auto pol = a.family_policies(t, f);
      out[t]["family_policies"][f] = pol.ok() ? *pol : json(pol.error().code);
    }
  }
  for (const auto& s : history.sessions) {
    auto info = a.session(h.tokens.hash(s));
    out["sessions"].push_back(info.ok() && info->has_value() ? (*info)->guardian_id + "/" + (*info)->session_id : "");
  }
  return out;
}

// A read-model store of its own in the harness's temp dir (nullptr, and a
// failure, when it does not open).
std::unique_ptr<projections::ReadModelDb> read_model_store(Harness& h, const std::string& name) {
  auto opened = projections::open_read_model_db(h.dir.str(name));
  if (opened.ok()) return std::move(*opened);
  ADD_FAILURE() << opened.error().message;
  return nullptr;
}

// A random history, and every answer a rebuild from scratch gives about it.
std::string given_history_and_its_answers(Harness& h, History& history, std::uint64_t events, unsigned seed) {
  history.generate(h, events, seed);
  ReadSide reference(h, "reference");
  reference.catch_up();
  return all_answers(h, *reference.answers, history).dump();
}

// Catches `runner` up on `real`; whether every answer is then the one the
// live read models gave (`expected`).
::testing::AssertionResult catches_up_to(Harness& h, projections::ReadModelDb& real,
                                         projections::ProjectionRunner& runner, const History& history,
                                         const std::string& expected) {
  if (auto r = runner.catch_up(); !r) {
    return ::testing::AssertionFailure() << "the catch-up failed: " << r.error().message;
  }
  projections::ReadModels answers(real, *h.store, h.clock, &runner);
  if (all_answers(h, answers, history).dump() != expected) {
    return ::testing::AssertionFailure() << "the answers differ from the live read models'";
  }
  return ::testing::AssertionSuccess();
}

TEST(Rebuild, RebuiltReadModelsEqualLiveOnesOverARandomHistory) {
  Harness h;
  // Live: the runner follows the log while the history is made, in batches
  // whose boundaries fall wherever the timing puts them.
  ReadSide live(h, "live", {.max_batch_events = 97});
  live.runner->start();
  History history;
  history.generate(h, 10'500, 20261123);
  ASSERT_GE(h.head(), 10'000u);
  ASSERT_TRUE(live.answers->wait_for(h.head(), std::chrono::seconds(30)));
  live.runner->stop();

  ReadSide rebuilt(h, "rebuilt");
  rebuilt.catch_up();
  EXPECT_EQ(rebuilt.runner->applied(), h.head());
  const auto live_answers = all_answers(h, *live.answers, history).dump();
  const auto rebuilt_answers = all_answers(h, *rebuilt.answers, history).dump();
  EXPECT_GT(live_answers.size(), 100'000u);
  EXPECT_TRUE(live_answers == rebuilt_answers) << "live and rebuilt read models differ";

  // Rebuilt with caches trimmed after almost every batch, so that rows are
  // read back from the store rather than known from the fold's memory.
  ReadSide trimmed(h, "trimmed", {.max_batch_events = 500, .max_cached_rows = 50});
  trimmed.catch_up();
  EXPECT_TRUE(all_answers(h, *trimmed.answers, history).dump() == rebuilt_answers)
      << "read models rebuilt with trimmed caches differ";

  // Rebuilt with rows held across batches (as in any catch-up of 100,000
  // events or more) and readied at the end in parts, then with holding cut
  // short by small caches and small limits on pending writes.
  ReadSide held(
      h, "held",
      {.max_batch_events = 300, .hold_after_events = 1'000, .rows_per_part_at_least = 50});
  held.catch_up();
  EXPECT_TRUE(all_answers(h, *held.answers, history).dump() == rebuilt_answers)
      << "read models rebuilt with rows held across batches differ";
  ReadSide held_briefly(h, "held-briefly",
                        {.max_batch_events = 300, .max_cached_rows = 200, .hold_after_events = 1'000,
                         .max_held_writes = 500});
  held_briefly.catch_up();
  EXPECT_TRUE(all_answers(h, *held_briefly.answers, history).dump() == rebuilt_answers)
      << "read models rebuilt with rows held for a few batches differ";

  // And a reset of the live one rebuilds to the same answers.
  ASSERT_TRUE(live.runner->reset().ok());
  live.catch_up();
  EXPECT_TRUE(all_answers(h, *live.answers, history).dump() == rebuilt_answers);
}

TEST(Rebuild, ALongCatchUpEndsWithEmptyCachesAndFollowsOnFromTheStore) {
  Harness h;
  History history;
  history.generate(h, 2'000, 20261203);
  ReadSide kept(h, "kept", {.drop_caches_after_events = 1'000'000});
  kept.catch_up();
  ReadSide dropped(h, "dropped", {.drop_caches_after_events = 1'000});
  dropped.catch_up();
  EXPECT_GT(kept.runner->cached_rows(), 100u);
  EXPECT_EQ(dropped.runner->cached_rows(), 0u);
  EXPECT_TRUE(all_answers(h, *dropped.answers, history).dump() == all_answers(h, *kept.answers, history).dump());

  // More events for guardians whose rows are no longer cached: a short
  // catch-up (the caches stay) folds them onto rows read back from the store.
  for (std::size_t i = 0; i < history.guardians.size(); i += 3) {
    h.tenant_id = history.tenants[0];
    (void)h.handlers->request_reset(h.staff(), commands::RequestResetStaff{history.guardians[i], "email"});
    h.tenant_id = history.tenants[1];
    (void)h.handlers->request_reset(h.staff(), commands::RequestResetStaff{history.guardians[i], "email"});
    auto s = h.handlers->log_in(h.anonymous(), {history.emails[i], kGoodPassword});
    if (s) history.sessions.push_back(s->session_token);
  }
  dropped.catch_up();
  EXPECT_GT(dropped.runner->cached_rows(), 0u);
  ReadSide fresh(h, "fresh");
  fresh.catch_up();
  EXPECT_EQ(dropped.runner->applied(), h.head());
  EXPECT_TRUE(all_answers(h, *dropped.answers, history).dump() == all_answers(h, *fresh.answers, history).dump())
      << "rows folded onto dropped caches differ from a rebuild";
}

// A dropped cache is freed on a thread of its own, in the order handed over;
// wait_for_destroyed waits for all of it.
TEST(Rebuild, DroppedCachesAreDestroyedOnAThreadOfTheirOwnInOrder) {
  struct Noted {
    std::vector<int>* order;
    std::vector<std::thread::id>* threads;
    int n;
    ~Noted() {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a large cache takes its time
      order->push_back(n);
      threads->push_back(std::this_thread::get_id());
    }
  };
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int n = 1; n <= 3; ++n) projections::destroy_later(std::make_shared<Noted>(&order, &threads, n));
  projections::release_memory_later();
  projections::wait_for_destroyed();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  ASSERT_EQ(threads.size(), 3u);
  for (const auto& id : threads) {
    EXPECT_NE(id, std::this_thread::get_id());
    EXPECT_EQ(id, threads.front());
  }
}

// An append-only projection that never holds its writes (a key per event):
// during a long catch-up the runner commits it every batch while the others
// hold theirs. The product's own projections all hold, but one whose cache
// outgrows max_cached_rows (the audit index of a very large tenant) stops
// holding and commits every batch, so the runner must handle both at once.
class EveryEvent final : public projections::Projection {
 public:
  std::string_view name() const override { return "every_event"; }
  std::uint32_t schema_version() const override { return 1; }
  void apply(const eventstore::RecordedEvent& recorded, const domain::DomainEvent&,
             projections::WriteSet& writes) override {
    writes.put("every_event/" + projections::be64(recorded.position), recorded.data.type);
  }
  std::function<void(projections::WriteSet&)> take_changes() override {
    return [](projections::WriteSet&) {};
  }
  void trim_cache() override {}
  void age_cache() override {}
  std::size_t cached_rows() const override { return 0; }
  void reset(Stored) override {}
};

std::vector<std::unique_ptr<projections::Projection>> with_append_only(
    projections::ReadModelDb& db) {
  auto all = projections::make_all_projections(db);
  all.push_back(std::make_unique<EveryEvent>());
  return all;
}

// Fails every commit after the first `allowed`, like a crash between batches;
// with `Fails::once`, only the one right after them (a write refused, say
// for want of space, and the next one taken).
class FailingDb final : public projections::ReadModelDb {
 public:
  enum class Fails { from_then_on, once };
  FailingDb(projections::ReadModelDb& inner, int allowed, Fails fails = Fails::from_then_on)
      : inner_(inner), allowed_(allowed), fails_(fails) {}
  Result<std::optional<std::string>> get(std::string_view key) override { return inner_.get(key); }
  Result<void> scan(std::string_view p, std::string_view s,
                    const std::function<bool(std::string_view, std::string_view)>& v) override {
    return inner_.scan(p, s, v);
  }
  Result<void> scan_backwards(std::string_view p, std::string_view b,
                              const std::function<bool(std::string_view, std::string_view)>& v) override {
    return inner_.scan_backwards(p, b, v);
  }
  std::unique_ptr<projections::WriteSet> begin() override { return inner_.begin(); }
  Result<void> commit(projections::WriteSet& w) override {
    if (fails_now()) return make_error("storage_error", "injected failure");
    return inner_.commit(w);
  }
  Result<void> commit(const std::vector<projections::WriteSet*>& sets) override {
    if (fails_now()) return make_error("storage_error", "injected failure");
    return inner_.commit(sets);
  }
  Result<void> erase_prefix(std::string_view p) override { return inner_.erase_prefix(p); }
  // Commits asked for, failed or not.
  int commits() const { return commits_; }

 private:
  bool fails_now() {
    ++commits_;
    return fails_ == Fails::once ? commits_ == allowed_ + 1 : commits_ > allowed_;
  }

  projections::ReadModelDb& inner_;
  int allowed_;
  Fails fails_;
  int commits_ = 0;
};

std::vector<std::string> projection_names(projections::ReadModelDb& db) {
  std::vector<std::string> names;
  for (const auto& p : with_append_only(db)) names.emplace_back(p->name());
  return names;
}

// A catch-up onto `real` that "crashes" after `allowed` batches (every commit
// after them fails); how far it got.
std::uint64_t crash_after(Harness& h, projections::ReadModelDb& real, int allowed,
                          const projections::RunnerOptions& options) {
  FailingDb failing(real, allowed);
  projections::ProjectionRunner runner(*h.store, failing, with_append_only(failing), options);
  EXPECT_TRUE(runner.open().ok());
  EXPECT_FALSE(runner.catch_up().ok()) << "it should have crashed after " << allowed << " batches";
  return runner.applied();
}

TEST(Rebuild, AFailedBatchLeavesRowsAndCheckpointConsistent) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 2'000, 7);

  auto store = read_model_store(h, "crashy");
  ASSERT_NE(store, nullptr);
  auto& real = *store;
  for (int allowed : {0, 1, 3}) EXPECT_LT(crash_after(h, real, allowed, {.max_batch_events = 250}), h.head());
  // Restart on the same store: it resumes from the checkpoints and ends equal.
  projections::ProjectionRunner runner(*h.store, real, with_append_only(real),
                                       {.max_batch_events = 250});
  ASSERT_TRUE(runner.open().ok());
  EXPECT_GT(runner.applied(), 0u);  // earlier batches were kept, not redone
  EXPECT_TRUE(catches_up_to(h, real, runner, history, expected));
}

// During a long catch-up the projections whose rows change again and again
// hold them (and their checkpoint) until the end; one that does not hold
// (append-only) commits every batch.
TEST(Rebuild, ALongCatchUpHoldsRowsUntilItsEndAndAppendOnlyProjectionsCommitEachBatch) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 3'000, 5);
  ReadSide side(h, "side", {.max_batch_events = 250, .hold_after_events = 1'000}, with_append_only);
  int batches = 0;
  bool held_while_append_only_moved = false;
  ASSERT_TRUE(side.runner
                  ->catch_up(0,
                             [&](std::uint64_t, std::uint64_t target) {
                               ++batches;
                               const auto every = side.runner->checkpoint("every_event").position;
                               const auto login_state = side.runner->checkpoint("login_state").position;
                               const auto directory = side.runner->checkpoint("directory").position;
                               if (every > 0 && every < target && login_state == 0 &&
                                   directory == 0) {
                                 held_while_append_only_moved = true;
                               }
                             })
                  .ok());
  EXPECT_GT(batches, 5);
  EXPECT_TRUE(held_while_append_only_moved);
  for (const char* name : {"every_event", "audit", "login_state", "directory", "sessions",
                           "policy_acceptances", "sms_credits"}) {
    EXPECT_EQ(side.runner->checkpoint(name).position, h.head()) << name;
  }
  EXPECT_TRUE(all_answers(h, *side.answers, history).dump() == expected);

  // A short catch-up holds nothing: every projection moves with each batch.
  ReadSide brief(h, "brief", {.max_batch_events = 250, .hold_after_events = 1'000'000},
                 with_append_only);
  bool every_batch_moved_all = true;
  ASSERT_TRUE(brief.runner
                  ->catch_up(0,
                             [&](std::uint64_t applied, std::uint64_t) {
                               every_batch_moved_all =
                                   every_batch_moved_all &&
                                   brief.runner->checkpoint("login_state").position == applied &&
                                   brief.runner->checkpoint("audit").position == applied;
                             })
                  .ok());
  EXPECT_TRUE(every_batch_moved_all);
}

// Held writes (session-token rows, name-index entries, acceptances) share
// one budget: past it, the projections holding the most commit early, while
// those holding only rows (the guardians' login state) hold on to the end.
TEST(Rebuild, HeldWritesShareOneBudgetAndTheLargestHoldersCommitFirst) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 3'000, 11);
  ReadSide side(h, "side",
                {.max_batch_events = 250, .hold_after_events = 1'000, .max_held_writes = 150});
  bool sessions_committed_early = false;
  bool login_state_committed_early = false;
  std::size_t most_held = 0;
  ASSERT_TRUE(
      side.runner
          ->catch_up(0,
                     [&](std::uint64_t, std::uint64_t target) {
                       most_held = std::max(most_held, side.runner->held_writes());
                       const auto sessions = side.runner->checkpoint("sessions").position;
                       const auto login_state = side.runner->checkpoint("login_state").position;
                       sessions_committed_early =
                           sessions_committed_early || (sessions > 0 && sessions < target);
                       login_state_committed_early =
                           login_state_committed_early || (login_state > 0 && login_state < target);
                     })
          .ok());
  EXPECT_GT(most_held, 0u);
  EXPECT_LT(most_held, 150u);
  EXPECT_TRUE(sessions_committed_early);
  EXPECT_FALSE(login_state_committed_early);
  EXPECT_TRUE(all_answers(h, *side.answers, history).dump() == expected);

  // With room for everything, nothing that holds commits before the end.
  ReadSide roomy(
      h, "roomy",
      {.max_batch_events = 250, .hold_after_events = 1'000, .max_held_writes = 1'000'000});
  bool any_committed_early = false;
  ASSERT_TRUE(
      roomy.runner
          ->catch_up(0,
                     [&](std::uint64_t, std::uint64_t target) {
                       for (const char* name : {"sessions", "directory", "policy_acceptances"}) {
                         const auto at = roomy.runner->checkpoint(name).position;
                         any_committed_early = any_committed_early || (at > 0 && at < target);
                       }
                     })
          .ok());
  EXPECT_FALSE(any_committed_early);
  EXPECT_TRUE(all_answers(h, *roomy.answers, history).dump() == expected);
}

// A crash while rows are held loses only what was held: the restart folds
// those projections again from their checkpoints, the others resume.
TEST(Rebuild, ACrashWhileRowsAreHeldResumesEachProjectionFromItsOwnCheckpoint) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 2'000, 9);
  auto store = read_model_store(h, "crashy-held");
  ASSERT_NE(store, nullptr);
  auto& real = *store;
  const projections::RunnerOptions options{.max_batch_events = 250, .hold_after_events = 500};
  for (int allowed : {1, 3}) crash_after(h, real, allowed, options);
  projections::ProjectionRunner runner(*h.store, real, with_append_only(real), options);
  ASSERT_TRUE(runner.open().ok());
  EXPECT_GT(runner.checkpoint("every_event").position, 0u) << "the append-only batches were kept";
  EXPECT_EQ(runner.checkpoint("login_state").position, 0u) << "held rows were never written";
  EXPECT_TRUE(catches_up_to(h, real, runner, history, expected));
}

// How many writes a whole catch-up of the history makes, on a store of its own.
int commits_of_a_catch_up(Harness& h, const projections::RunnerOptions& options) {
  auto scratch = read_model_store(h, "counted");
  EXPECT_NE(scratch, nullptr);
  if (!scratch) return 0;
  FailingDb counting(*scratch, 1'000'000);
  projections::ProjectionRunner runner(*h.store, counting, with_append_only(counting), options);
  EXPECT_TRUE(runner.open().ok());
  EXPECT_TRUE(runner.catch_up().ok());
  return counting.commits();
}

// A 2,000-event history whose catch-up holds rows (batches of 250, holding
// from 500 events on), the answers it should end with, how many writes a
// whole catch-up of it makes, and a read-model store of its own to break.
struct HeldCatchUp {
  HeldCatchUp(const std::string& name, unsigned seed)
      : expected(given_history_and_its_answers(h, history, 2'000, seed)),
        commits(commits_of_a_catch_up(h, options)),
        store(read_model_store(h, name)) {
    if (store) names = projection_names(*store);
  }
  // The writes at its end: one per projection (each has folded something).
  int at_the_end() const { return static_cast<int>(names.size()); }

  Harness h;
  History history;
  const projections::RunnerOptions options{.max_batch_events = 250, .hold_after_events = 500};
  std::string expected;
  int commits;
  std::unique_ptr<projections::ReadModelDb> store;
  std::vector<std::string> names;
};

// A long catch-up ends by handing over what each projection held, one
// write per projection, readied on two threads. A crash among those writes
// keeps exactly the projections whose write landed (at the head); the
// others start again from their last checkpoint, and the restart ends equal.
TEST(Rebuild, ACrashWhileHeldRowsAreHandedOverKeepsTheProjectionsThatLanded) {
  HeldCatchUp c("crashy-end", 11);
  ASSERT_NE(c.store, nullptr);
  ASSERT_GT(c.commits, c.at_the_end());
  auto& real = *c.store;
  std::map<std::string, std::uint64_t> believed;  // by the runner that crashed
  {
    FailingDb failing(real, c.commits - c.at_the_end() + 3);
    projections::ProjectionRunner crashing(*c.h.store, failing, with_append_only(failing),
                                           c.options);
    ASSERT_TRUE(crashing.open().ok());
    ASSERT_FALSE(crashing.catch_up().ok());
    for (const auto& name : c.names) believed[name] = crashing.checkpoint(name).position;
  }

  projections::ProjectionRunner runner(*c.h.store, real, with_append_only(real), c.options);
  ASSERT_TRUE(runner.open().ok());
  int landed = 0;
  for (const auto& name : c.names) {
    landed += runner.checkpoint(name).position == c.h.head();
    EXPECT_EQ(runner.checkpoint(name).position, believed[name]) << name << ": what landed is what it counted";
  }
  EXPECT_EQ(landed, 3);
  EXPECT_TRUE(catches_up_to(c.h, real, runner, c.history, c.expected));
  for (const auto& name : c.names) EXPECT_EQ(runner.checkpoint(name).position, c.h.head()) << name;
}

// The last batch before the end is refused but the store takes the writes
// after it: the end must not be handed over then, or an append-only
// projection (which writes every batch) would land its last batch with a
// checkpoint at the head and the refused batch's entries would never be
// written.
TEST(Rebuild, ARefusedBatchBeforeTheEndStopsTheEndFromBeingWritten) {
  HeldCatchUp c("refused", 13);
  ASSERT_NE(c.store, nullptr);
  ASSERT_GT(c.commits, c.at_the_end() + 1);
  auto& real = *c.store;
  {
    FailingDb refusing(real, c.commits - c.at_the_end() - 1, FailingDb::Fails::once);
    projections::ProjectionRunner runner(*c.h.store, refusing, with_append_only(refusing),
                                         c.options);
    ASSERT_TRUE(runner.open().ok());
    ASSERT_FALSE(runner.catch_up().ok());
    EXPECT_EQ(refusing.commits(), c.commits - c.at_the_end()) << "nothing was written after the refused batch";
  }
  projections::ProjectionRunner runner(*c.h.store, real, with_append_only(real), c.options);
  ASSERT_TRUE(runner.open().ok());
  for (const auto& name : c.names) EXPECT_LT(runner.checkpoint(name).position, c.h.head()) << name;
  EXPECT_TRUE(catches_up_to(c.h, real, runner, c.history, c.expected));
}

// An event whose payload no longer decodes stops the fold at that event,
// whether the stretch is read inline (short batches) or read ahead on a
// thread of its own (long ones): the batch is not written, the error names
// the position, and once the rows before it are kept nothing after it is.
TEST(Rebuild, AnUndecodableEventStopsTheFoldAtItsPosition) {
  Harness h;
  History history;
  history.generate(h, 6'000, 11);
  eventstore::EventData bad;
  bad.event_id = "undecodable-1";
  bad.type = "GuardianLoggedIn";
  bad.tenant = "t1";
  bad.payload = R"({"not":"a login"})";
  eventstore::AppendRequest request;
  request.streams.push_back({"guardian:t1:nobody", eventstore::ExpectedVersion::any(), {bad}});
  auto appended = h.store->append(std::move(request));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  const auto at = appended->first_position;
  ASSERT_GE(at, 6'000u);

  for (std::size_t batch : {std::size_t{100}, std::size_t{50'000}}) {
    SCOPED_TRACE("batches of " + std::to_string(batch));
    ReadSide side(h, "side-" + std::to_string(batch), {.max_batch_events = batch});
    auto r = side.runner->catch_up();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, eventstore::kCorruption);
    EXPECT_NE(r.error().message.find("position " + std::to_string(at)), std::string::npos) << r.error().message;
    EXPECT_LT(side.runner->applied(), at);
    // Short batches keep what came before the bad event; one long batch keeps nothing.
    if (batch == 100) {
      EXPECT_GE(side.runner->applied(), at - 100);
    } else {
      EXPECT_EQ(side.runner->applied(), 0u);
    }
    auto again = side.runner->catch_up();  // and it stays stopped there
    ASSERT_FALSE(again.ok());
    EXPECT_LT(side.runner->applied(), at);
  }
}

// A projection whose code changed shape.
class Reshaped final : public projections::Projection {
 public:
  Reshaped(std::unique_ptr<projections::Projection> inner, bool bumped)
      : inner_(std::move(inner)), version_(inner_->schema_version() + (bumped ? 1 : 0)) {}
  std::string_view name() const override { return inner_->name(); }
  std::uint32_t schema_version() const override { return version_; }
  void apply(const eventstore::RecordedEvent& r, const domain::DomainEvent& e, projections::WriteSet& w) override {
    ++applied;
    inner_->apply(r, e, w);
  }
  std::function<void(projections::WriteSet&)> take_changes() override { return inner_->take_changes(); }
  void trim_cache() override { inner_->trim_cache(); }
  void age_cache() override { inner_->age_cache(); }
  std::size_t cached_rows() const override { return inner_->cached_rows(); }
  bool holds_rows() const override { return inner_->holds_rows(); }
  void reset(Stored stored) override { inner_->reset(stored); }
  int applied = 0;

 private:
  std::unique_ptr<projections::Projection> inner_;
  std::uint32_t version_;
};

// Fails to read its rows at one chosen event, as a storage error would.
class FailsOnce final : public projections::Projection {
 public:
  FailsOnce(std::unique_ptr<projections::Projection> inner, std::uint64_t at) : inner_(std::move(inner)), at_(at) {}
  std::string_view name() const override { return inner_->name(); }
  std::uint32_t schema_version() const override { return inner_->schema_version(); }
  void apply(const eventstore::RecordedEvent& r, const domain::DomainEvent& e, projections::WriteSet& w) override {
    if (r.position == at_ && !failed_) {
      failed_ = true;
      throw projections::ReadModelError("injected read failure");
    }
    inner_->apply(r, e, w);
  }
  std::function<void(projections::WriteSet&)> take_changes() override { return inner_->take_changes(); }
  void trim_cache() override { inner_->trim_cache(); }
  void age_cache() override { inner_->age_cache(); }
  std::size_t cached_rows() const override { return inner_->cached_rows(); }
  bool holds_rows() const override { return inner_->holds_rows(); }
  void reset(Stored stored) override { inner_->reset(stored); }

 private:
  std::unique_ptr<projections::Projection> inner_;
  std::uint64_t at_;
  bool failed_ = false;
};

TEST(Rebuild, AFoldFailureAfterALandedBatchNeitherLosesNorRepeatsIt) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 1'000, 11);

  auto store = read_model_store(h, "failing");
  ASSERT_NE(store, nullptr);
  auto& db = *store;
  auto all = projections::make_all_projections(db);
  for (auto& p : all) {
    if (p->name() == "directory") p = std::make_unique<FailsOnce>(std::move(p), 450);
  }
  projections::ProjectionRunner runner(*h.store, db, std::move(all), {.max_batch_events = 200});
  ASSERT_TRUE(runner.open().ok());
  // Batches 1..200 and 201..400 land; the fold of 401..600 fails at 450
  // while 201..400 may still be in flight.
  ASSERT_FALSE(runner.catch_up().ok());
  EXPECT_EQ(runner.applied(), 400u);
  ASSERT_TRUE(runner.catch_up().ok());  // the retry resumes after 400, not before
  projections::ReadModels answers(db, *h.store, h.clock, &runner);
  EXPECT_TRUE(all_answers(h, answers, history).dump() == expected);
}

// A long stretch is folded on two threads, each with its own projections:
// a failure on either one (the directory is folded by the calling thread,
// the login state by the second) abandons the batch just the same.
TEST(Rebuild, AFoldFailureOnEitherFoldingThreadAbandonsTheBatch) {
  Harness h;
  History history;
  const auto expected = given_history_and_its_answers(h, history, 9'000, 12);
  ASSERT_GE(h.head(), 8'192u);
  for (const char* failing : {"directory", "login_state"}) {
    auto store = read_model_store(h, std::string("two-folds-") + failing);
    ASSERT_NE(store, nullptr);
    auto& db = *store;
    auto all = projections::make_all_projections(db);
    for (auto& p : all) {
      if (p->name() == failing) p = std::make_unique<FailsOnce>(std::move(p), 6'000);
    }
    projections::ProjectionRunner runner(*h.store, db, std::move(all), {.max_batch_events = 4'096});
    ASSERT_TRUE(runner.open().ok());
    auto failed = runner.catch_up();
    ASSERT_FALSE(failed.ok()) << failing;
    EXPECT_NE(failed.error().message.find("injected read failure"), std::string::npos) << failed.error().message;
    EXPECT_EQ(runner.applied(), 4'096u) << failing;
    ASSERT_TRUE(runner.catch_up().ok()) << failing;
    projections::ReadModels answers(db, *h.store, h.clock, &runner);
    EXPECT_TRUE(all_answers(h, answers, history).dump() == expected) << failing;
  }
}

TEST(Rebuild, ASchemaVersionChangeRebuildsOnlyThatProjection) {
  Harness h;
  History history;
  history.generate(h, 500, 3);
  ReadSide first(h, "rm");
  first.catch_up();
  const auto head = h.head();
  first.runner.reset();
  first.answers.reset();

  auto make = [&](bool bumped, Reshaped** audit) {
    auto all = projections::make_all_projections(*first.db);
    for (auto& p : all) {
      if (p->name() == "audit") {
        auto wrapped = std::make_unique<Reshaped>(std::move(p), bumped);
        *audit = wrapped.get();
        p = std::move(wrapped);
      }
    }
    return all;
  };
  Reshaped* same = nullptr;
  projections::ProjectionRunner unchanged(*h.store, *first.db, make(false, &same));
  ASSERT_TRUE(unchanged.open().ok());
  EXPECT_EQ(unchanged.applied(), head);  // persisted: nothing to replay at start-up
  ASSERT_TRUE(unchanged.catch_up().ok());
  EXPECT_EQ(same->applied, 0);

  Reshaped* bumped = nullptr;
  projections::ProjectionRunner changed(*h.store, *first.db, make(true, &bumped));
  ASSERT_TRUE(changed.open().ok());
  EXPECT_EQ(changed.checkpoint("audit").position, 0u);
  EXPECT_EQ(changed.checkpoint("login_state").position, head);
  ASSERT_TRUE(changed.catch_up().ok());
  EXPECT_EQ(static_cast<std::uint64_t>(bumped->applied), head);
  EXPECT_EQ(changed.checkpoint("audit").schema_version, bumped->schema_version());
}

}  // namespace
}  // namespace latchkey::testing
