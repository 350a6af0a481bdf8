#include "key_order.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace latchkey::projections {
namespace {

// A key at the depth its group has reached: its next 8 bytes as a
// big-endian integer (zeros past its end) and how many bytes it has left
// there, counted up to 9 ("more than the digit").
struct Item {
  std::uint64_t digit;
  std::uint32_t index;
  std::uint32_t left;
};

constexpr std::uint32_t kMore = 9;
// Groups this small are sorted by comparing their keys' remaining bytes.
constexpr std::size_t kSmall = 12;

std::uint64_t digit_at(std::string_view key, std::size_t depth) {
  unsigned char bytes[8] = {};
  if (depth < key.size()) std::memcpy(bytes, key.data() + depth, std::min<std::size_t>(8, key.size() - depth));
  std::uint64_t d;
  std::memcpy(&d, bytes, 8);
  return __builtin_bswap64(d);
}

// How many bytes a and b have in common, from the start, up to n.
std::size_t common(const char* a, const char* b, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return i + static_cast<std::size_t>(__builtin_ctzll(x ^ y) / 8);  // little-endian
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Orders items, whose keys agree on their first `depth` bytes. Groups that
// still tie go on a stack rather than into a recursion: a long key could
// otherwise nest as many calls as it has 8-byte digits.
void sort_items(const std::vector<std::string_view>& keys, std::vector<Item>& items) {
  struct Group {
    Item* first;
    Item* last;
    std::size_t depth;
  };
  std::vector<Group> groups{{items.data(), items.data() + items.size(), 0}};
  while (!groups.empty()) {
    auto [first, last, depth] = groups.back();
    groups.pop_back();
    const auto n = static_cast<std::size_t>(last - first);
    if (n < 2) continue;
    if (n <= kSmall) {
      std::sort(first, last, [&keys, depth](const Item& a, const Item& b) {
        const int c = keys[a.index].substr(depth).compare(keys[b.index].substr(depth));
        return c != 0 ? c < 0 : a.index < b.index;
      });
      continue;
    }
    // Skip what every key of the group has in common.
    const std::string_view ref = keys[first->index];
    std::size_t shared = ref.size() - depth;
    for (Item* it = first + 1; it != last && shared > 0; ++it) {
      const std::string_view key = keys[it->index];
      shared = common(ref.data() + depth, key.data() + depth, std::min(shared, key.size() - depth));
    }
    depth += shared;
    for (Item* it = first; it != last; ++it) {
      const std::string_view key = keys[it->index];
      it->digit = digit_at(key, depth);
      it->left = static_cast<std::uint32_t>(std::min<std::size_t>(key.size() - depth, kMore));
    }
    // Equal digits: the key that ends first is a prefix of the other (the
    // digit pads with zeros), so it comes first; keys that end within the
    // digit and agree on it are equal, and stay in the order they came.
    std::sort(first, last, [](const Item& a, const Item& b) {
      if (a.digit != b.digit) return a.digit < b.digit;
      if (a.left != b.left) return a.left < b.left;
      return a.index < b.index;
    });
    // Keys that still tie go on, 8 bytes further.
    for (Item* run = first; run != last;) {
      Item* end = run + 1;
      while (end != last && end->digit == run->digit && end->left == run->left) ++end;
      if (run->left == kMore && end - run > 1) groups.push_back({run, end, depth + 8});
      run = end;
    }
  }
}

}  // namespace

std::vector<std::uint32_t> key_order(const std::vector<std::string_view>& keys) {
  if (keys.size() >= std::numeric_limits<std::uint32_t>::max()) throw std::length_error("key_order: too many keys");
  std::vector<Item> items(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) items[i] = Item{0, static_cast<std::uint32_t>(i), 0};
  sort_items(keys, items);
  std::vector<std::uint32_t> order(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order[i] = items[i].index;
  return order;
}

}  // namespace latchkey::projections
