// The races SPEC §2 and §4 name, each run 1,000 times on a real, durable
// RocksDB store: two commands start together on two threads and exactly one
// of them wins, every time.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

constexpr int kRepetitions = 1000;

// Runs a and b at the same moment on two threads.
template <class A, class B>
void together(A&& a, B&& b) {
  std::barrier start(2);
  std::thread other([&] {
    start.arrive_and_wait();
    b();
  });
  start.arrive_and_wait();
  a();
  other.join();
}

TEST(Races, TwoRedemptionsOfOneTokenHaveExactlyOneWinner) {
  Harness h(/*durable=*/true);
  h.given_tenant(R"({"max_reset_requests_per_hour":100})");
  std::string guardian, email;
  int wins = 0;
  for (int i = 0; i < kRepetitions; ++i) {
    if (i % 100 == 0) {  // a fresh guardian now and then keeps streams short
      email = "parent" + std::to_string(i) + "@example.com";
      guardian = h.given_guardian(email);
    }
    auto requested = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{guardian, "email"});
    ASSERT_TRUE(requested.ok()) << requested.error().code;
    ASSERT_FALSE(requested->throttled);
    const auto token = h.last_reset_token(email);
    Result<commands::Accepted> a = Error{}, b = Error{};
    together([&] { a = h.handlers->redeem_token(h.anonymous(), {token, kGoodPassword, ""}); },
             [&] { b = h.handlers->redeem_token(h.anonymous(), {token, kOtherGoodPassword, ""}); });
    ASSERT_NE(a.ok(), b.ok()) << "repetition " << i;
    const auto& loser = a.ok() ? b : a;
    ASSERT_EQ(loser.error().code, "token_used") << "repetition " << i;
    ++wins;
    auto sent = h.store->read_outbox("", 100000);
    ASSERT_TRUE(sent.ok());
    for (const auto& e : *sent) ASSERT_TRUE(h.store->delete_outbox({e.key}).ok());
  }
  EXPECT_EQ(wins, kRepetitions);
}

TEST(Races, TwoGuardiansRacingForOneLoginIdHaveExactlyOneWinner) {
  Harness h(/*durable=*/true);
  h.given_tenant();
  h.given_registered_guardian("ana@example.com");
  h.given_registered_guardian("ben@example.com");
  const auto ana = h.given_session("ana@example.com");
  const auto ben = h.given_session("ben@example.com");
  int ana_wins = 0, ben_wins = 0;
  for (int i = 0; i < kRepetitions; ++i) {
    // Case-insensitive: the two ask for the same ID in different cases.
    std::string id = "family-";
    id += std::to_string(i);
    std::string upper = id;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Result<commands::Accepted> a = Error{}, b = Error{};
    together([&] { a = h.handlers->change_login_id(h.anonymous(), {ana, id}); },
             [&] { b = h.handlers->change_login_id(h.anonymous(), {ben, upper}); });
    ASSERT_NE(a.ok(), b.ok()) << "repetition " << i;
    ASSERT_EQ((a.ok() ? b : a).error().code, "login_id_taken") << "repetition " << i;
    (a.ok() ? ana_wins : ben_wins)++;
  }
  EXPECT_EQ(ana_wins + ben_wins, kRepetitions);
  EXPECT_GT(ana_wins, 0);  // both sides do win sometimes: the race is real
  EXPECT_GT(ben_wins, 0);
}

TEST(Races, TwoSmsRequestsForTheLastCreditHaveExactlyOneWinner) {
  Harness h(/*durable=*/true);
  h.given_tenant(R"({"sms_enabled":true,"max_reset_requests_per_hour":100})");
  std::string g1, g2;
  for (int i = 0; i < kRepetitions; ++i) {
    if (i % 100 == 0) {
      g1 = h.given_guardian("one" + std::to_string(i) + "@example.com", "+15550000001");
      g2 = h.given_guardian("two" + std::to_string(i) + "@example.com", "+15550000002");
    }
    ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {1}).ok());
    Result<commands::StaffResetRequested> a = Error{}, b = Error{};
    together([&] { a = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g1, "sms"}); },
             [&] { b = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g2, "sms"}); });
    ASSERT_NE(a.ok(), b.ok()) << "repetition " << i;
    ASSERT_EQ((a.ok() ? b : a).error().code, "sms_credits_exhausted") << "repetition " << i;
  }
  // The ledger agrees: every credit added was spent exactly once, none twice.
  int added = 0, spent = 0;
  std::int64_t last_balance = -1;
  for (const auto& e : h.decoded_since(0)) {
    if (std::holds_alternative<domain::SmsCreditsAdded>(e)) ++added;
    if (const auto* s = std::get_if<domain::SmsCreditSpent>(&e)) {
      ++spent;
      EXPECT_GE(s->balance, 0);
      last_balance = s->balance;
    }
  }
  EXPECT_EQ(added, kRepetitions);
  EXPECT_EQ(spent, kRepetitions);
  EXPECT_EQ(last_balance, 0);
}

TEST(Races, ManyStaffSpendingCreditsNeverOverdraw) {
  Harness h(/*durable=*/true);
  h.given_tenant(R"({"sms_enabled":true,"max_reset_requests_per_hour":100})");
  constexpr int kCredits = 40, kThreads = 8;
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {kCredits}).ok());
  std::vector<std::string> guardians;
  for (int t = 0; t < kThreads; ++t) {
    guardians.push_back(h.given_guardian("p" + std::to_string(t) + "@example.com", "+1555000000" + std::to_string(t)));
  }
  std::atomic<int> sent{0}, exhausted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        auto r = h.handlers->request_reset(h.staff(), commands::RequestResetStaff{guardians[t], "sms"});
        if (r.ok()) {
          sent++;
        } else if (r.error().code == "sms_credits_exhausted") {
          exhausted++;
        } else {
          ADD_FAILURE() << r.error().code;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sent.load(), kCredits);
  EXPECT_EQ(exhausted.load(), kThreads * 20 - kCredits);
}

}  // namespace
}  // namespace latchkey::testing
