// The event store's contract on a real RocksDB: expected versions, atomicity,
// idempotence, ordering, reopen, outbox, subscriptions, read-only opens.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "latchkey/eventstore/rocksdb_event_store.hpp"
#include "support/event_factory.hpp"
#include "support/temp_dir.hpp"

namespace latchkey::eventstore {
namespace {

using latchkey::testing::make_event;
using latchkey::testing::one_stream;
using latchkey::testing::TempDir;
using namespace std::chrono_literals;

std::unique_ptr<EventStore> open_store(const std::string& path, RocksDbOptions options = {}) {
  auto store = open_rocksdb_event_store(path, options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.ok() ? std::move(store).value() : nullptr;
}

class EventStoreTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::unique_ptr<EventStore> store_ = open_store(dir_.str("db"));
};

TEST_F(EventStoreTest, AnEmptyStoreHasHeadZeroAndNoStreams) {
  EXPECT_EQ(store_->head(), 0u);
  auto last = store_->read_last("guardian-1");
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());
  auto all = store_->read_all(1, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(EventStoreTest, AppendAssignsDenseGlobalPositionsAndStreamVersions) {
  auto a = store_->append(one_stream("s-a", ExpectedVersion::no_stream(),
                                     {make_event(), make_event()}));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->first_position, 1u);
  EXPECT_EQ(a->last_position, 2u);
  EXPECT_EQ(a->stream_versions, std::vector<std::uint64_t>{2});

  auto b = store_->append(one_stream("s-b", ExpectedVersion::any(), {make_event()}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first_position, 3u);
  EXPECT_EQ(b->stream_versions, std::vector<std::uint64_t>{1});
  EXPECT_EQ(store_->head(), 3u);

  auto all = store_->read_all(1, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (std::size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].position, i + 1);
  EXPECT_EQ((*all)[0].stream_id, "s-a");
  EXPECT_EQ((*all)[1].stream_version, 2u);
  EXPECT_EQ((*all)[2].stream_id, "s-b");
}

struct ExpectedVersionCase {
  const char* name;
  int existing_events;  // in the stream before the append
  ExpectedVersion expected;
  bool accepted;
};

void PrintTo(const ExpectedVersionCase& c, std::ostream* os) { *os << c.name; }

class ExpectedVersionTest : public EventStoreTest,
                            public ::testing::WithParamInterface<ExpectedVersionCase> {};

TEST_P(ExpectedVersionTest, AppendChecksTheStreamVersion) {
  const auto& c = GetParam();
  for (int i = 0; i < c.existing_events; ++i) {
    ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  }
  auto head_before = store_->head();
  auto r = store_->append(one_stream("s", c.expected, {make_event()}));
  EXPECT_EQ(r.ok(), c.accepted);
  if (c.accepted) {
    EXPECT_EQ(r->stream_versions[0], static_cast<std::uint64_t>(c.existing_events + 1));
  } else {
    EXPECT_EQ(r.error().code, kWrongExpectedVersion);
    EXPECT_EQ(store_->head(), head_before) << "a refused append must append nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpectedVersionTest,
    ::testing::Values(
        ExpectedVersionCase{"AnyOnMissing", 0, ExpectedVersion::any(), true},
        ExpectedVersionCase{"AnyOnExisting", 3, ExpectedVersion::any(), true},
        ExpectedVersionCase{"NoStreamOnMissing", 0, ExpectedVersion::no_stream(), true},
        ExpectedVersionCase{"NoStreamOnExisting", 1, ExpectedVersion::no_stream(), false},
        ExpectedVersionCase{"ExactlyMatching", 2, ExpectedVersion::exactly(2), true},
        ExpectedVersionCase{"ExactlyBehind", 3, ExpectedVersion::exactly(2), false},
        ExpectedVersionCase{"ExactlyAhead", 1, ExpectedVersion::exactly(2), false},
        ExpectedVersionCase{"ExactlyOnMissing", 0, ExpectedVersion::exactly(1), false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(EventStoreTest, AClashOnOneStreamAppendsNothingToTheOthers) {
  ASSERT_TRUE(store_->append(one_stream("guardian-1", ExpectedVersion::any(), {make_event()})).ok());
  AppendRequest r;
  r.streams.push_back({"family-1", ExpectedVersion::no_stream(), {make_event()}});
  r.streams.push_back({"guardian-1", ExpectedVersion::no_stream(), {make_event()}});  // clashes
  r.outbox.push_back({"msg-1", "hello"});
  auto result = store_->append(std::move(r));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, kWrongExpectedVersion);
  EXPECT_EQ(store_->head(), 1u);
  auto family = store_->read_stream("family-1", 1, 10);
  ASSERT_TRUE(family.ok());
  EXPECT_TRUE(family->empty());
  auto outbox = store_->read_outbox("", 10);
  ASSERT_TRUE(outbox.ok());
  EXPECT_TRUE(outbox->empty());
}

TEST_F(EventStoreTest, AMultiStreamAppendIsOneAtomicUnit) {
  AppendRequest r;
  r.streams.push_back({"family-1", ExpectedVersion::no_stream(), {make_event("FamilyRegistered")}});
  r.streams.push_back(
      {"guardian-1", ExpectedVersion::no_stream(), {make_event(), make_event("ChildLinked")}});
  auto result = store_->append(std::move(r));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->first_position, 1u);
  EXPECT_EQ(result->last_position, 3u);
  EXPECT_EQ(result->stream_versions, (std::vector<std::uint64_t>{1, 2}));
  auto guardian = store_->read_stream("guardian-1", 1, 10);
  ASSERT_TRUE(guardian.ok());
  ASSERT_EQ(guardian->size(), 2u);
  EXPECT_EQ((*guardian)[1].data.type, "ChildLinked");
  EXPECT_EQ((*guardian)[1].position, 3u);
}

TEST_F(EventStoreTest, ReappendingTheSameEventIdsReturnsTheFirstResult) {
  auto e = make_event();
  auto first = store_->append(one_stream("s", ExpectedVersion::no_stream(), {e}));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());

  auto retry = store_->append(one_stream("s", ExpectedVersion::no_stream(), {e}));
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->last_position, first->last_position);
  EXPECT_EQ(retry->stream_versions, first->stream_versions);
  EXPECT_EQ(store_->head(), 2u) << "a duplicate appends nothing";
}

TEST_F(EventStoreTest, AnEventIdReusedWithOtherContentIsRefused) {
  auto e = make_event();
  ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {e})).ok());
  auto changed = e;
  changed.payload = R"({"first_name":"Grace"})";
  auto r = store_->append(one_stream("s", ExpectedVersion::any(), {changed}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kEventIdConflict);

  auto mixed = store_->append(one_stream("s", ExpectedVersion::any(), {e, make_event()}));
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, kEventIdConflict);
  EXPECT_EQ(store_->head(), 1u);
}

TEST_F(EventStoreTest, MalformedAppendsAreRefusedWithoutWriting) {
  std::vector<AppendRequest> bad;
  bad.push_back(AppendRequest{});
  bad.push_back(one_stream("", ExpectedVersion::any(), {make_event()}));
  bad.push_back(one_stream(std::string("a\0b", 3), ExpectedVersion::any(), {make_event()}));
  bad.push_back(one_stream("s", ExpectedVersion::any(), {}));
  auto no_type = make_event();
  no_type.type.clear();
  bad.push_back(one_stream("s", ExpectedVersion::any(), {no_type}));
  auto dup = make_event();
  bad.push_back(one_stream("s", ExpectedVersion::any(), {dup, dup}));
  AppendRequest twice;
  twice.streams.push_back({"s", ExpectedVersion::any(), {make_event()}});
  twice.streams.push_back({"s", ExpectedVersion::any(), {make_event()}});
  bad.push_back(std::move(twice));
  for (auto& r : bad) {
    auto result = store_->append(std::move(r));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, kInvalidAppend);
  }
  EXPECT_EQ(store_->head(), 0u);
}

TEST_F(EventStoreTest, EveryEnvelopeFieldSurvivesAReopen) {
  auto e = make_event("ResetRequested", R"({"channel":"sms","token_hash":"abc"})");
  e.causation_id = "cause-7";
  e.actor = {"staff", "key-42", "Mrs. Émilie Front-Desk"};
  ASSERT_TRUE(store_->append(one_stream("guardian-9", ExpectedVersion::any(), {e})).ok());
  store_.reset();
  store_ = open_store(dir_.str("db"));
  EXPECT_EQ(store_->head(), 1u);
  auto last = store_->read_last("guardian-9");
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->data, e);
  EXPECT_EQ((*last)->position, 1u);
  auto next = store_->append(one_stream("guardian-9", ExpectedVersion::exactly(1), {make_event()}));
  ASSERT_TRUE(next.ok()) << "the stream version survives a reopen";
  EXPECT_EQ(next->first_position, 2u);
  auto report = store_->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

// The leader reuses one write batch from round to round, and drops it once
// a large append has grown it past 1 MiB: appends after a large one, and
// after a reopen, read back exactly as written.
TEST_F(EventStoreTest, AppendsAfterALargeOneReadBackAsWritten) {
  std::vector<EventData> written;
  auto append = [&](const std::string& stream, std::string payload) {
    auto e = make_event("GuardianAdded", std::move(payload));
    written.push_back(e);
    return store_->append(one_stream(stream, ExpectedVersion::any(), {e})).ok();
  };
  ASSERT_TRUE(append("s-small", R"({"n":1})"));
  ASSERT_TRUE(append("s-large", "{\"blob\":\"" + std::string(1'500'000, 'x') + "\"}"));
  for (int i = 2; i <= 5; ++i) ASSERT_TRUE(append("s-small", "{\"n\":" + std::to_string(i) + "}"));
  auto check = [&] {
    auto all = store_->read_all(1, 100);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), written.size());
    for (std::size_t i = 0; i < written.size(); ++i) EXPECT_EQ((*all)[i].data, written[i]) << i;
  };
  check();
  store_.reset();
  store_ = open_store(dir_.str("db"));
  ASSERT_NE(store_, nullptr);
  check();
}

TEST_F(EventStoreTest, ReadStreamPagesFromAVersion) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
    ASSERT_TRUE(store_->append(one_stream("other", ExpectedVersion::any(), {make_event()})).ok());
  }
  auto page = store_->read_stream("s", 3, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].stream_version, 3u);
  EXPECT_EQ((*page)[1].stream_version, 4u);
  EXPECT_EQ((*page)[0].position, 5u);
  // A stream id that is a prefix of another does not see the other's events.
  ASSERT_TRUE(store_->append(one_stream("s2", ExpectedVersion::any(), {make_event()})).ok());
  auto s = store_->read_stream("s", 1, 100);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 5u);
}

// A stream the store has just written is read by point lookups of its last
// versions (the store knows where it ends); after a reopen, by an iterator.
// Both give the same pages, whatever the start and the page size.
TEST_F(EventStoreTest, ReadStreamAnswersTheSameBeforeAndAfterAReopen) {
  constexpr std::uint64_t kEvents = 40;  // longer than the point-lookup reach
  for (std::uint64_t i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::exactly(i), {make_event()})).ok());
    ASSERT_TRUE(store_->append(one_stream("s2", ExpectedVersion::any(), {make_event()})).ok());
  }
  auto pages = [&] {
    std::vector<std::vector<std::uint64_t>> out;
    for (std::uint64_t from : {0u, 1u, 17u, 24u, 25u, 39u, 40u, 41u, 90u}) {
      for (std::size_t max : {0u, 1u, 3u, 16u, 100u}) {
        auto page = store_->read_stream("s", from, max);
        EXPECT_TRUE(page.ok());
        std::vector<std::uint64_t> got;
        for (const auto& e : *page) {
          EXPECT_EQ(e.stream_id, "s");
          EXPECT_EQ(e.position, 2 * e.stream_version - 1);
          got.push_back(e.stream_version);
        }
        const std::uint64_t first = std::max<std::uint64_t>(from, 1);
        const std::uint64_t expected =
            first > kEvents ? 0 : std::min<std::uint64_t>(kEvents - first + 1, max);
        EXPECT_EQ(got.size(), expected) << "from " << from << " max " << max;
        for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], first + i);
        out.push_back(got);
      }
    }
    return out;
  };
  auto written = pages();
  store_.reset();
  store_ = open_store(dir_.str("db"));
  EXPECT_EQ(pages(), written);
}

// Long stretches are read ahead past the block cache, short ones through it
// (kScanAtLeast): both answer the same, from the memtable and from files.
TEST_F(EventStoreTest, ShortAndLongStretchesOfTheLogReadTheSame) {
  constexpr std::uint64_t kEvents = 2500;  // past the read-ahead threshold (1024)
  for (std::uint64_t i = 0; i < kEvents; i += 100) {
    std::vector<EventData> events;
    for (int k = 0; k < 100; ++k) events.push_back(make_event("GuardianAdded", R"({"n":)" + std::to_string(i + k) + "}"));
    ASSERT_TRUE(store_->append(one_stream("s" + std::to_string(i % 7), ExpectedVersion::any(), std::move(events))).ok());
  }
  auto read = [&](std::uint64_t from, std::uint64_t to) {
    std::vector<std::string> out;
    auto r = store_->for_each_event(from, to, [&](const RecordedEvent& e) {
      out.push_back(std::to_string(e.position) + " " + e.stream_id + " " + e.data.payload);
      return true;
    });
    EXPECT_TRUE(r.ok());
    return out;
  };
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "written" : "reopened");
    const auto whole = read(1, kEvents);  // read ahead
    ASSERT_EQ(whole.size(), kEvents);
    std::vector<std::string> pieces;
    for (std::uint64_t from = 1; from <= kEvents; from += 97) {  // through the cache
      auto piece = read(from, std::min(kEvents, from + 96));
      pieces.insert(pieces.end(), piece.begin(), piece.end());
    }
    EXPECT_EQ(pieces, whole);
    for (std::uint64_t p : {1u, 2u, 1024u, 1025u, 2499u, 2500u}) {
      auto one = store_->read_all(p, 1);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ(one->size(), 1u);
      EXPECT_EQ(std::to_string(p) + " " + one->front().stream_id + " " + one->front().data.payload, whole[p - 1]);
    }
    EXPECT_EQ(read(1000, 2100), std::vector<std::string>(whole.begin() + 999, whole.begin() + 2100));
    store_.reset();
    store_ = open_store(dir_.str("db"));
  }
}

TEST_F(EventStoreTest, OutboxEntriesAreWrittenWithTheEventsAndCanBeDeleted) {
  AppendRequest r = one_stream("g", ExpectedVersion::any(), {make_event()});
  r.outbox.push_back({"msg-b", "second"});
  r.outbox.push_back({"msg-a", "first"});
  auto first = store_->append(std::move(r));
  ASSERT_TRUE(first.ok());
  AppendRequest later = one_stream("g", ExpectedVersion::any(), {make_event()});
  later.outbox.push_back({"msg-0", "third"});
  ASSERT_TRUE(store_->append(std::move(later)).ok());

  auto entries = store_->read_outbox("", 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].position, 1u);
  EXPECT_EQ((*entries)[2].id, "msg-0") << "entries come in the order of their appends";
  EXPECT_EQ((*entries)[2].value, "third");

  auto after = store_->read_outbox((*entries)[0].key, 10);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);

  ASSERT_TRUE(store_->delete_outbox({(*entries)[0].key}).ok());
  ASSERT_TRUE(store_->delete_outbox({"no-such-key"}).ok());
  ASSERT_TRUE(store_->delete_outbox({}).ok());
  auto rest = store_->read_outbox("", 10);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 2u);
  ASSERT_TRUE(store_->delete_outbox({(*rest)[0].key, "no-such-key", (*rest)[1].key}).ok());
  auto none = store_->read_outbox("", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "several keys go in one call";
  auto report = store_->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << "the outbox is not part of the chain";
}

TEST_F(EventStoreTest, AnAppendCanSettleOutboxEntriesInTheSameWrite) {
  AppendRequest r = one_stream("g", ExpectedVersion::any(), {make_event()});
  r.outbox.push_back({"msg-a", "first"});
  r.outbox.push_back({"msg-b", "second"});
  ASSERT_TRUE(store_->append(std::move(r)).ok());
  auto entries = store_->read_outbox("", 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);

  // A malformed key refuses the whole append: no event, no delete.
  for (const std::string& bad : {std::string(), std::string("short"), std::string(8 + 65, 'k')}) {
    AppendRequest refused = one_stream("notifications:t", ExpectedVersion::any(), {make_event("NotificationSent")});
    refused.outbox_done = {(*entries)[0].key, bad};
    auto outcome = store_->append(std::move(refused));
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().code, kInvalidAppend);
  }
  EXPECT_EQ(store_->head(), 1u);
  ASSERT_EQ(store_->read_outbox("", 10)->size(), 2u);

  AppendRequest settle = one_stream("notifications:t", ExpectedVersion::any(), {make_event("NotificationSent")});
  settle.outbox_done = {(*entries)[0].key};
  ASSERT_TRUE(store_->append(std::move(settle)).ok());
  auto rest = store_->read_outbox("", 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().id, "msg-b");
  EXPECT_EQ(store_->head(), 2u);

  // Durable together: after a reopen the event is there and the entry is not.
  store_.reset();
  store_ = open_store(dir_.str("db"));
  EXPECT_EQ(store_->head(), 2u);
  ASSERT_EQ(store_->read_outbox("", 10)->size(), 1u);
}

TEST_F(EventStoreTest, ASubscriptionWakesWhenNewPositionsLand) {
  Subscription sub(*store_, 0);
  auto empty = sub.next(10, 20ms);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  });
  auto start = std::chrono::steady_clock::now();
  auto got = sub.next(10, 10s);
  auto waited = std::chrono::steady_clock::now() - start;
  writer.join();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(sub.cursor(), 1u);
  EXPECT_LT(waited, 5s) << "the reader must be woken, not time out";
}

TEST_F(EventStoreTest, ForEachEventStopsWhenTheVisitorSaysSo) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  }
  std::vector<std::uint64_t> seen;
  auto r = store_->for_each_event(3, 100, [&](const RecordedEvent& e) {
    seen.push_back(e.position);
    return seen.size() < 4;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{3, 4, 5, 6}));
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

// RocksDB's own LOG holds flushes, compactions and errors, not a line per
// durable append (Debian's librocksdb defaults to DEBUG lines, one per WAL
// sync): a busy server's LOG would grow by megabytes a minute. Two stores,
// one append against 201, each closed (which writes out what the logger
// buffered): their LOGs are about as long, and hold no DEBUG line.
TEST(EventStoreInfoLog, AppendsDoNotGrowRocksDbsInfoLog) {
  TempDir dir;
  auto lines_after = [&](const std::string& name, int appends) {
    auto store = open_store(dir.str(name));
    for (int i = 0; i < appends; ++i) {
      EXPECT_TRUE(store->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
    }
    store.reset();
    return lines_of(dir.str(name + "/LOG"));
  };
  const auto one = lines_after("one", 1);
  const auto many = lines_after("many", 201);
  ASSERT_GT(one.size(), 0u);
  std::string added;
  for (std::size_t i = one.size(); i < many.size() && i < one.size() + 40; ++i) added += many[i] + "\n";
  EXPECT_LT(many.size(), one.size() + 20) << added;
  for (const auto& line : many) EXPECT_EQ(line.find("[DEBUG]"), std::string::npos) << line;
}

// /metrics shows what RocksDB holds: appends fill the memtables, and reading
// events back from table files fills the block cache.
TEST(EventStoreMemory, ReportsMemtablesAndTheBlockCacheAsTheyFill) {
  TempDir dir;
  const std::string payload = R"({"note":")" + std::string(1000, 'x') + R"("})";
  auto append = [&](EventStore& store, int events) {
    for (int i = 0; i < events; ++i) {
      ASSERT_TRUE(store.append(one_stream("s", ExpectedVersion::any(), {make_event("Noted", payload)})).ok());
    }
  };
  {
    auto store = open_store(dir.str("kept"));
    const auto empty = store->memory();
    append(*store, 400);
    const auto written = store->memory();
    EXPECT_GE(written.memtable_bytes, empty.memtable_bytes + 400 * 1000);
    EXPECT_LT(written.block_cache_bytes, 4096u) << "nothing was read from a table file";
  }
  RocksDbOptions small;
  small.memtable_budget_bytes = 1u << 20;
  small.sync = false;
  {
    auto store = open_store(dir.str("flushed"), small);
    append(*store, 2000);
  }
  auto store = open_store(dir.str("flushed"), small);  // closed after its flushes
  EXPECT_LT(store->memory().block_cache_bytes, 64u << 10);
  auto events = store->read_stream("s", 1, 2000);  // (long scans of the log leave the cache alone)
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2000u);
  const auto read = store->memory();
  EXPECT_GT(read.block_cache_bytes, 64u << 10) << "the events' blocks, read from table files";
  EXPECT_LT(read.block_cache_bytes, 32u << 20);
  EXPECT_LT(read.memtable_bytes, 2u << 20);
}

TEST_F(EventStoreTest, AReadOnlyOpenSeesTheLogAndRefusesAppends) {
  ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  store_.reset();
  RocksDbOptions ro;
  ro.mode = RocksDbOptions::Mode::read_only;
  auto reader = open_store(dir_.str("db"), ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->head(), 1u);
  auto r = reader->append(one_stream("s", ExpectedVersion::any(), {make_event()}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kReadOnly);
}

TEST_F(EventStoreTest, ASecondaryOpenFollowsARunningPrimary) {
  ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  RocksDbOptions so;
  so.mode = RocksDbOptions::Mode::secondary;
  so.secondary_dir = dir_.str("secondary");
  auto secondary = open_store(dir_.str("db"), so);
  ASSERT_NE(secondary, nullptr);
  EXPECT_EQ(secondary->head(), 1u);

  ASSERT_TRUE(store_->append(one_stream("s", ExpectedVersion::any(), {make_event()})).ok());
  ASSERT_TRUE(secondary->refresh().ok());
  EXPECT_EQ(secondary->head(), 2u);
  auto report = secondary->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->events, 2u);
}

}  // namespace
}  // namespace latchkey::eventstore
