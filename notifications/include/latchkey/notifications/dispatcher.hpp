// Delivers the transactional outbox (SPEC §4): each message written beside
// its event is handed to a transport, recorded as NotificationSent (or
// NotificationFailed; never with a secret), and deleted once delivered.
//
// Order per message: deliver, record, delete. A pass takes the outbox a page
// at a time and hands each transport its due messages in batches of what it
// takes at once (Transport::max_batch: one for SMTP and the webhook, the
// whole page for the outbox file); each batch's outcomes are recorded in one
// append and its entries deleted in one write. A crash after a delivery and
// before its record sends that batch once more (at-least-once; the message id
// travels with it so a receiver can deduplicate). A message still
// undelivered at its expiry, or whose credential was superseded (a newer
// link, a used one, a login reset), is dropped, never sent. Failed
// deliveries are retried with exponential backoff and jitter; after one
// failure a transport is left alone for the rest of the pass, so a server
// that is down costs one attempt per pass, not one per waiting message. A
// message the receiver refuses for good (kDeliveryRejected) is given up.
//
// Thread safety: start()/stop() from one thread; backlog() from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "latchkey/domain/messages.hpp"
#include "latchkey/domain/ports.hpp"
#include "latchkey/eventstore/event_store.hpp"
#include "latchkey/result.hpp"

namespace latchkey::notifications {

// Hands messages to the outside world. Must be thread-compatible (the
// dispatcher calls it from its own thread only).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<void> deliver(const domain::OutboxMessage& message, domain::Micros now_us) = 0;

  // Hands over several messages at once and answers for a prefix of them, in
  // order: the messages past the answers were not attempted (the transport
  // is down; they wait for the next pass). This default delivers one at a
  // time and stops after the first failure that is not a rejection; a
  // transport that can make one delivery of many (one write and one sync of
  // the outbox file) overrides it.
  virtual std::vector<Result<void>> deliver_batch(std::span<const domain::OutboxMessage* const> messages,
                                                  domain::Micros now_us);
  // How many messages the dispatcher hands over before it records their
  // outcomes. A crash between a delivery and its record re-sends what was
  // delivered, so a transport that delivers one message at a time takes one
  // (the default); one that makes one delivery of many takes a page.
  virtual std::size_t max_batch() const { return 1; }
};

// file:PATH — one JSON object per delivered message, appended and flushed:
// {"id","tenant","channel","to","subject","body","sent_at"}.
Result<std::unique_ptr<Transport>> open_file_transport(const std::string& path);

// Whether a message's credential is still the one in force (false: drop it).
using StillCurrent = std::function<Result<bool>(const domain::OutboxMessage&, domain::Micros now)>;

struct DispatcherOptions {
  std::size_t batch = 100;
  StillCurrent still_current;  // empty: every unexpired message is sent
  domain::Micros first_retry_us = 1'000'000;   // doubled per attempt, with jitter
  domain::Micros max_retry_us = 300'000'000;
};

class Dispatcher {
 public:
  Dispatcher(eventstore::EventStore& store, domain::Clock& clock, domain::Random& random,
             Transport& mail, Transport& sms, DispatcherOptions options = {});
  ~Dispatcher();

  // One pass over the outbox: delivers what is due, drops what expired.
  // Returns the number of messages delivered.
  Result<std::size_t> run_once();

  // Follows the outbox on a thread of its own until stop().
  void start();
  void stop();

  // Messages waiting (as of the last pass).
  std::size_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }

 private:
  struct Retry {
    std::int64_t attempts = 0;
    domain::Micros next_at_us = 0;
  };
  // Reads, delivers, records and deletes one page of entries after `after`;
  // false when there was none.
  Result<bool> run_page(std::string& after, bool& mail_down, bool& sms_down, std::size_t& delivered,
                        std::size_t& waiting);
  eventstore::EventData event(const domain::OutboxMessage& message, const std::string& type,
                              std::string payload);
  eventstore::EventData failure(const domain::OutboxMessage& message, const std::string& reason,
                                std::int64_t attempts, bool final);
  void follow();

  eventstore::EventStore& store_;
  domain::Clock& clock_;
  domain::Random& random_;
  Transport& mail_;
  Transport& sms_;
  DispatcherOptions options_;
  std::map<std::string, Retry> retries_;  // by outbox key
  std::string floor_;  // every entry up to this key has been removed
  std::atomic<std::size_t> backlog_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace latchkey::notifications
