// key_order (projections/src/key_order.hpp) against the order it replaces:
// a stable sort of the keys compared as bytes, as RocksDB compares them.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "key_order.hpp"

namespace latchkey::projections {
namespace {

std::vector<std::uint32_t> expected_order(const std::vector<std::string_view>& keys) {
  std::vector<std::uint32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
  return order;
}

std::vector<std::uint32_t> order_of(const std::vector<std::string>& strings) {
  const std::vector<std::string_view> keys(strings.begin(), strings.end());
  return key_order(keys);
}

void expect_bytewise(const std::vector<std::string>& strings) {
  const std::vector<std::string_view> keys(strings.begin(), strings.end());
  EXPECT_EQ(key_order(keys), expected_order(keys));
}

std::string operator""_b(const char* s, std::size_t n) { return std::string(s, n); }

TEST(KeyOrder, OrdersNothingAndOneKey) {
  EXPECT_TRUE(order_of({}).empty());
  EXPECT_EQ(order_of({"only"}), std::vector<std::uint32_t>{0});
}

TEST(KeyOrder, OrdersKeysAsBytes) {
  struct Case {
    const char* what;
    std::vector<std::string> keys;
    std::vector<std::uint32_t> order;
  };
  const std::vector<Case> cases = {
      {"a prefix comes first", {"ab", "a", ""}, {2, 1, 0}},
      {"a zero byte after the prefix is not the end of the key", {"a\0"_b, "a", "a\0\0"_b}, {1, 0, 2}},
      {"bytes are unsigned", {"\xff", "\x7f", "\x80", "\x01"}, {3, 1, 2, 0}},
      {"keys that differ only in their ninth byte", {"12345678b", "12345678a", "12345678"}, {2, 1, 0}},
      {"equal keys stay in the order they came", {"k", "j", "k", "k", "j"}, {1, 4, 0, 2, 3}},
      {"a digit of zeros against a key that ends", {"abcdefgh\0\0\0\0\0\0\0\0"_b, "abcdefgh", "abcdefgh\0"_b},
       {1, 2, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(order_of(c.keys), c.order);
    // The same keys eight times over: a group too large to be sorted by
    // comparing keys, which goes digit by digit.
    std::vector<std::string> many;
    for (int i = 0; i < 8; ++i) many.insert(many.end(), c.keys.begin(), c.keys.end());
    expect_bytewise(many);
  }
}

// Read-model keys as a batch holds them: long, mostly alike, with zero bytes
// and big-endian positions, in groups large and small, some written twice.
TEST(KeyOrder, OrdersABatchOfReadModelKeysAsAStableSortWould) {
  std::mt19937 random(20261203);
  const std::vector<std::string> tenants = {"t-0a1b2c3d-0000-4000-8000-000000000001",
                                            "t-0a1b2c3d-0000-4000-8000-000000000002", "t-ff"};
  std::vector<std::string> keys;
  for (int i = 0; i < 20'000; ++i) {
    const auto& tenant = tenants[random() % tenants.size()];
    const std::string subject = "g-" + std::to_string(random() % 700);
    std::string position(8, '\0');
    const std::uint64_t at = random() % 5000;
    for (int b = 0; b < 8; ++b) position[b] = static_cast<char>(at >> (56 - 8 * b));
    switch (random() % 5) {
      case 0: keys.push_back("audit/e/" + tenant + "/" + position); break;
      case 1: keys.push_back("audit/s/" + tenant + "/" + subject + '\0' + position); break;
      case 2: keys.push_back("audit/s/" + tenant + "/" + subject + '\0'); break;
      case 3: keys.push_back("login_state/" + tenant + "/" + subject); break;
      default: keys.push_back(std::string(random() % 20, static_cast<char>(random() % 3 == 0 ? '\xff' : 'a'))); break;
    }
  }
  expect_bytewise(keys);
}

// Random bytes from a narrow alphabet: many shared prefixes, keys that are
// prefixes of others, and lengths on both sides of every 8-byte digit.
TEST(KeyOrder, OrdersRandomKeysOfFewLettersAsAStableSortWould) {
  std::mt19937 random(7);
  const std::string letters = "\0a\xff"_b;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> keys(1 + random() % 3000);
    for (auto& key : keys) {
      key.resize(random() % 40);
      for (auto& c : key) c = letters[random() % letters.size()];
    }
    SCOPED_TRACE(round);
    expect_bytewise(keys);
  }
}

TEST(KeyOrder, OrdersKeysLongerThanAThousandDigits) {
  const std::string shared(10'000, 'x');
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back(shared + std::to_string(i % 7) + shared + std::to_string(i % 3));
  expect_bytewise(keys);
}

}  // namespace
}  // namespace latchkey::projections
