// verify() names the first position where the log was altered: a flipped
// byte, a deleted event, a reordered pair, a rewritten hash.
#include <gtest/gtest.h>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/event_factory.hpp"
#include "support/raw_event_db.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::eventstore {
namespace {

using latchkey::testing::make_event;
using latchkey::testing::one_stream;
using latchkey::testing::RawDb;
using latchkey::testing::TempDir;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_rocksdb_event_store(dir_.str("db"));
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 10; ++i) {
      auto r = (*store)->append(one_stream("guardian-" + std::to_string(i % 3),
                                           ExpectedVersion::any(), {make_event()}));
      ASSERT_TRUE(r.ok());
    }
    auto report = (*store)->verify();
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->ok);
    intact_head_hash_ = report->head_hash;
  }

  VerifyReport verify_now() {
    RocksDbOptions ro;
    ro.mode = RocksDbOptions::Mode::read_only;
    auto store = open_rocksdb_event_store(dir_.str("db"), ro);
    EXPECT_TRUE(store.ok());
    auto report = (*store)->verify();
    EXPECT_TRUE(report.ok());
    return *report;
  }

  TempDir dir_;
  Hash intact_head_hash_{};
};

TEST_F(VerifyTest, AnIntactLogVerifiesWithItsHeadHash) {
  auto report = verify_now();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.events, 10u);
  EXPECT_EQ(report.head_position, 10u);
  EXPECT_EQ(report.head_hash, intact_head_hash_);
}

TEST_F(VerifyTest, AFlippedPayloadByteIsFoundAtItsPosition) {
  {
    RawDb raw(dir_.str("db"));
    std::string v = raw.get(6);
    std::size_t at = v.find("Ada");
    ASSERT_NE(at, std::string::npos);
    v[at] = 'I';
    raw.put(6, v);
  }
  auto report = verify_now();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 6u);
}

TEST_F(VerifyTest, EveryFlippedByteIsFoundAtItsPosition) {
  // Flip each byte of one stored event in turn: the break is always named at 4.
  std::string original;
  {
    RawDb raw(dir_.str("db"));
    original = raw.get(4);
  }
  for (std::size_t i = 0; i < original.size(); i += 7) {
    {
      RawDb raw(dir_.str("db"));
      std::string v = original;
      v[i] = static_cast<char>(v[i] ^ 0x01);
      raw.put(4, v);
    }
    auto report = verify_now();
    EXPECT_FALSE(report.ok) << "byte " << i;
    EXPECT_EQ(report.first_bad_position, 4u) << "byte " << i;
  }
}

TEST_F(VerifyTest, ADeletedEventIsFoundAtItsPosition) {
  {
    RawDb raw(dir_.str("db"));
    raw.erase(3);
  }
  auto report = verify_now();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 3u);
}

TEST_F(VerifyTest, AReorderedPairIsFoundAtTheFirstOfThem) {
  {
    RawDb raw(dir_.str("db"));
    std::string a = raw.get(7);
    std::string b = raw.get(8);
    raw.put(7, b);
    raw.put(8, a);
  }
  auto report = verify_now();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 7u);
}

TEST_F(VerifyTest, ARewrittenEventWithARecomputedOwnHashBreaksTheChainAtIt) {
  // An attacker who rewrites event 5 and recomputes its hash from the stored
  // hash of event 4 still breaks event 6, whose hash covers event 5's hash.
  {
    RawDb raw(dir_.str("db"));
    auto e5 = codec::decode_stored(raw.get(5));
    auto e4 = codec::decode_stored(raw.get(4));
    ASSERT_TRUE(e5.ok() && e4.ok());
    RecordedEvent forged = *e5;
    forged.data.payload = R"({"first_name":"Eve"})";
    std::string canonical;
    codec::encode_canonical(forged, canonical);
    forged.hash = codec::chain_hash(e4->hash, canonical);
    raw.put(5, codec::encode_stored(forged));
  }
  auto report = verify_now();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 6u);
}

TEST_F(VerifyTest, ATruncatedTailIsFoundAgainstTheRecordedHead) {
  {
    RawDb raw(dir_.str("db"));
    raw.erase(10);
  }
  auto report = verify_now();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_position, 10u);
}

}  // namespace
}  // namespace latchkey::eventstore
