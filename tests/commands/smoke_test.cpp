// The whole guardian journey once, end to end through the handlers.
#include <array>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

TEST(CommandJourney, RegisterLogInForgetRedeemLogIn) {
  Harness h;
  auto g = h.given_registered_guardian("ana@example.com");
  auto first = h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword});
  ASSERT_TRUE(first.ok()) << first.error().code;
  EXPECT_EQ(first->guardian_id, g);

  auto before = h.head();
  ASSERT_TRUE(h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{"ANA@example.com"}).ok());
  EXPECT_EQ(h.types_since(before), std::vector<std::string>{"ResetRequested"});
  auto token = h.last_reset_token("ana@example.com");
  ASSERT_FALSE(token.empty());

  before = h.head();
  auto redeemed = h.handlers->redeem_token(h.anonymous(), {token, kOtherGoodPassword, ""});
  ASSERT_TRUE(redeemed.ok()) << redeemed.error().code;
  EXPECT_EQ(h.types_since(before), (std::vector<std::string>{"ResetTokenRedeemed", "PasswordChanged"}));

  EXPECT_FALSE(h.handlers->authenticate_session(h.tenant_id, first->session_token).ok());
  EXPECT_FALSE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kGoodPassword}).ok());
  EXPECT_TRUE(h.handlers->log_in(h.anonymous(), {"ana@example.com", kOtherGoodPassword}).ok());
}

}  // namespace
}  // namespace latchkey::testing

namespace latchkey::testing {
namespace {

// Ids and tokens come from a per-thread buffer of the OS's random bytes:
// no draw may repeat another, on one thread or across threads, whatever
// the mix of sizes (some straddle a refill, some bypass the buffer).
TEST(SodiumRandom, DrawsNeverRepeatAcrossSizesRefillsAndThreads) {
  commands::SodiumRandom random;
  std::mutex mu;
  std::set<std::vector<std::uint8_t>> seen;
  std::array<std::size_t, 256> byte_counts{};
  auto draw = [&](int thread) {
    for (int i = 0; i < 4000; ++i) {
      const std::size_t size =
          16 + static_cast<std::size_t>((i * 7 + thread) % 80);  // 16..95 bytes
      std::vector<std::uint8_t> out(size);
      random.fill(out);
      std::lock_guard lock(mu);
      for (auto b : out) ++byte_counts[b];
      ASSERT_TRUE(seen.insert(out).second) << "a draw of " << size << " bytes repeated";
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(draw, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 16000u);
  for (std::size_t value = 0; value < 256; ++value) {
    EXPECT_GT(byte_counts[value], 0u) << "byte " << value << " never drawn";
  }
}

}  // namespace
}  // namespace latchkey::testing
