// The canonical encoding round-trips every field and rejects malformed bytes.
#include "record_codec.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include "support/event_factory.hpp"

namespace latchkey::eventstore::codec {
namespace {

RecordedEvent sample() {
  RecordedEvent e;
  e.position = 42;
  e.stream_id = "guardian-7";
  e.stream_version = 3;
  e.data = latchkey::testing::make_event("PasswordChanged", R"({"hash":"$argon2id$..."})");
  e.data.causation_id = "cause";
  e.hash.fill(0xab);
  return e;
}

TEST(RecordCodecTest, EveryFieldRoundTrips) {
  RecordedEvent e = sample();
  auto decoded = decode_stored(encode_stored(e));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, e);
}

TEST(RecordCodecTest, EmptyStringsAndBinaryBytesRoundTrip) {
  RecordedEvent e = sample();
  e.data.source_ip.clear();
  e.data.payload = std::string("\0\xff{}", 4);
  auto decoded = decode_stored(encode_stored(e));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, e);
}

TEST(RecordCodecTest, EveryTruncationIsRejected) {
  std::string stored = encode_stored(sample());
  for (std::size_t n = 0; n < stored.size(); ++n) {
    auto decoded = decode_stored(std::string_view(stored).substr(0, n));
    EXPECT_FALSE(decoded.ok()) << "length " << n;
  }
}

TEST(RecordCodecTest, AnUnknownFormatIsRejected) {
  std::string stored = encode_stored(sample());
  stored[0] = 9;
  auto decoded = decode_stored(stored);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, kCorruption);
}

TEST(RecordCodecTest, TheChainHashIsBlake2bOfPreviousHashThenCanonicalBytes) {
  ASSERT_GE(sodium_init(), 0);
  RecordedEvent e = sample();
  std::string canonical;
  encode_canonical(e, canonical);
  Hash previous;
  previous.fill(0x11);
  std::string input(previous.begin(), previous.end());
  input += canonical;
  Hash expected;
  crypto_generichash(expected.data(), expected.size(),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), nullptr, 0);
  EXPECT_EQ(chain_hash(previous, canonical), expected);
  EXPECT_EQ(canonical_part(encode_stored(e)), canonical);
}

TEST(RecordCodecTest, BigEndianKeysSortNumerically) {
  std::string a, b;
  put_be64(a, 255);
  put_be64(b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(get_be64(b), 256u);
}

}  // namespace
}  // namespace latchkey::eventstore::codec
