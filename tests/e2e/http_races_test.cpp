// The races of SPEC §2, over HTTP against the real latchkeyd, 1,000 times
// each (issue 8): every request of a race is released at the same moment on
// its own connection, and exactly one wins, every time.
#include <gtest/gtest.h>

#include "support/api_tenant.hpp"

namespace latchkey {
namespace {

using namespace latchkey::testing;
using nlohmann::json;

constexpr int kRepetitions = 1000;
constexpr const char* kPassword = "Sunflower-42x";

class HttpRaces : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<LatchkeydProcess>(dir, test_server_args({"--command-workers", "16"}));
    ASSERT_TRUE(server->ready()) << server->log();
    tenant = ApiTenant::create(*server);
    tenant.settings(json{{"max_reset_requests_per_hour", 100}, {"sms_enabled", true}});
  }

  // Staff may send a guardian at most 100 links an hour: move on an hour
  // before that bites.
  void keep_clear_of_the_throttle(int rep) {
    if (rep % 90 == 89) advance_clock(*server, 3601);
  }

  static int count_2xx(const std::vector<ApiReply>& replies) {
    int wins = 0;
    for (const auto& r : replies) wins += r.status / 100 == 2;
    return wins;
  }

  TempDir dir;
  std::unique_ptr<LatchkeydProcess> server;
  ApiTenant tenant;
};

TEST_F(HttpRaces, OneTokenRedeemedFromEightConnectionsHasOneWinner) {
  const auto g = tenant.registered("ana@example.com", kPassword);
  OutboxReader outbox(server->data_dir() + "/outbox.jsonl");
  for (int rep = 0; rep < kRepetitions; ++rep) {
    keep_clear_of_the_throttle(rep);
    auto requested = tenant.staff_reset(g);
    ASSERT_EQ(requested.status, 202) << requested.body;
    auto message = outbox.next_to("ana@example.com", "reset?token=");
    ASSERT_TRUE(message.is_object()) << "rep " << rep << ": no link arrived";
    const std::string token = reset_token_in(message["body"]);
    auto replies = at_once(8, [&](int i) {
      return tenant.redeem(token, "Racer-" + std::to_string(rep) + "-" + std::to_string(i) + "x");
    });
    ASSERT_EQ(count_2xx(replies), 1) << "rep " << rep;
    for (const auto& r : replies) {
      if (r.status / 100 != 2) {
        ASSERT_EQ(r.code(), "token_used") << "rep " << rep << ": " << r.status << " " << r.body;
      }
    }
  }
}

TEST_F(HttpRaces, TwoGuardiansClaimingOneLoginIdHaveOneWinner) {
  tenant.registered("ana@example.com", kPassword, "Ana");
  tenant.registered("ben@example.com", kPassword, "Ben");
  const std::string sessions[] = {tenant.session("ana@example.com", kPassword),
                                  tenant.session("ben@example.com", kPassword)};
  std::array<int, 2> won{};
  for (int rep = 0; rep < kRepetitions; ++rep) {
    const std::string login_id = "parent-" + std::to_string(rep);
    auto replies = at_once(2, [&](int i) {
      return tenant.call("PUT", "/me/login-id", sessions[i], {{"login_id", login_id}});
    });
    ASSERT_EQ(count_2xx(replies), 1) << "rep " << rep << ": " << replies[0].body << " / " << replies[1].body;
    for (int i = 0; i < 2; ++i) {
      if (replies[i].status / 100 == 2) {
        ++won[static_cast<std::size_t>(i)];
      } else {
        ASSERT_EQ(replies[i].code(), "login_id_taken") << "rep " << rep << ": " << replies[i].body;
      }
    }
  }
  // Both could win: the race is real, not an ordering of the two threads.
  EXPECT_GT(won[0], 0);
  EXPECT_GT(won[1], 0);
}

TEST_F(HttpRaces, EightStaffSpendingTheLastSmsCreditHaveOneWinner) {
  std::vector<std::string> guardians;
  for (int i = 0; i < 8; ++i) {
    guardians.push_back(tenant.registered("p" + std::to_string(i) + "@example.com", kPassword, "P",
                                          "Parent", "+1555123000" + std::to_string(i)));
  }
  for (int rep = 0; rep < kRepetitions; ++rep) {
    keep_clear_of_the_throttle(rep);
    auto added = tenant.call("POST", "/sms-credits", tenant.admin, {{"amount", 1}});
    ASSERT_EQ(added.status, 201) << added.body;
    auto replies = at_once(8, [&](int i) { return tenant.staff_reset(guardians[static_cast<std::size_t>(i)], "sms"); });
    ASSERT_EQ(count_2xx(replies), 1) << "rep " << rep;
    for (const auto& r : replies) {
      if (r.status / 100 == 2) {
        ASSERT_EQ(r.json["throttled"], false);
      } else {
        ASSERT_EQ(r.code(), "sms_credits_exhausted") << "rep " << rep << ": " << r.body;
      }
    }
  }
  auto balance = tenant.call("GET", "/sms-credits?min_position=" + std::to_string(log_head(*server)), tenant.admin);
  ASSERT_EQ(balance.status, 200) << balance.body;
  EXPECT_EQ(balance.json["balance"], 0);
}

}  // namespace
}  // namespace latchkey
