// The ids the Random port derives from its bytes: UUID versions 4 and 7.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "latchkey/domain/ports.hpp"

namespace latchkey::domain {
namespace {

// Hands out a fixed byte, so every id's random part is known.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(std::uint8_t byte) : byte_(byte) {}
  void fill(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), byte_); }

 private:
  std::uint8_t byte_;
};

TEST(Ids, AVersion4UuidIsRandomApartFromItsVersionAndVariant) {
  FixedRandom ones(0xff);
  EXPECT_EQ(ones.uuid(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  FixedRandom zeros(0x00);
  EXPECT_EQ(zeros.uuid(), "00000000-0000-4000-8000-000000000000");
}

TEST(Ids, AVersion7UuidStartsWithTheMillisecondsOfItsTime) {
  struct Case {
    Micros now;
    std::uint8_t byte;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // 2026-11-23T10:00:00.123456Z = 1,795,428,000,123 ms = 0x01a2_07d9_217b
      {1'795'428'000'123'456, 0x00, "01a207d9-217b-7000-8000-000000000000"},
      {1'795'428'000'123'456, 0xff, "01a207d9-217b-7fff-bfff-ffffffffffff"},
      {0, 0x00, "00000000-0000-7000-8000-000000000000"},
      {-5, 0x00, "00000000-0000-7000-8000-000000000000"},  // before 1970: time 0
      {999, 0x00, "00000000-0000-7000-8000-000000000000"},  // under a millisecond
      {1'000, 0x00, "00000000-0001-7000-8000-000000000000"},
  };
  for (const auto& c : cases) {
    FixedRandom random(c.byte);
    EXPECT_EQ(random.uuid_v7(c.now), c.expected) << c.now;
  }
}

TEST(Ids, Version7UuidsSortByTimeAsText) {
  FixedRandom late_bytes(0x00);
  FixedRandom early_bytes(0xff);
  const Micros t = 1'795'428'000'123'456;
  // A later millisecond sorts after, whatever the random bits.
  EXPECT_LT(early_bytes.uuid_v7(t), late_bytes.uuid_v7(t + 1'000));
  EXPECT_LT(early_bytes.uuid_v7(t), late_bytes.uuid_v7(t + 1'000'000'000));
}

}  // namespace
}  // namespace latchkey::domain
