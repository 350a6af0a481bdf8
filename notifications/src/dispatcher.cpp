#include "latchkey/notifications/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "latchkey/domain/events.hpp"
#include "latchkey/domain/validation.hpp"

namespace latchkey::notifications {

namespace {

std::string masked(const domain::OutboxMessage& m) {
  return m.channel == "sms" ? domain::mask_phone(m.to) : domain::mask_email(m.to);
}

}  // namespace

Dispatcher::Dispatcher(eventstore::EventStore& store, domain::Clock& clock, domain::Random& random,
                       Transport& mail, Transport& sms, DispatcherOptions options)
    : store_(store), clock_(clock), random_(random), mail_(mail), sms_(sms), options_(options) {}

Dispatcher::~Dispatcher() { stop(); }

Result<void> Dispatcher::record(const domain::OutboxMessage& m, const std::string& type,
                                const std::string& payload) {
  eventstore::EventData e;
  e.event_id = random_.uuid();
  e.type = type;
  e.schema_version = domain::kSchemaVersion;
  e.recorded_at_us = clock_.now_us();
  e.tenant = m.tenant;
  e.actor = {"system", "dispatcher", "Message dispatcher"};
  e.correlation_id = m.id;
  e.causation_id = m.id;
  e.payload = payload;
  eventstore::AppendRequest request;
  request.streams.push_back({"notifications:" + m.tenant, eventstore::ExpectedVersion::any(), {std::move(e)}});
  auto r = store_.append(std::move(request));
  if (!r.ok()) return r.error();
  return {};
}

Result<void> Dispatcher::record_failure(const domain::OutboxMessage& m, const std::string& reason,
                                        std::int64_t attempts, bool final) {
  return record(m, "NotificationFailed",
                domain::encode_payload(domain::NotificationFailed{m.id, m.guardian_id, m.channel, m.kind,
                                                                 masked(m), reason, attempts, final}));
}

Result<void> Dispatcher::remove(const eventstore::OutboxEntry& entry) {
  if (auto d = store_.delete_outbox(entry.key); !d.ok()) return d;
  retries_.erase(entry.key);
  return {};
}

Result<void> Dispatcher::give_up(const eventstore::OutboxEntry& entry, const domain::OutboxMessage& m,
                                 const std::string& reason, std::int64_t attempts) {
  if (auto r = record_failure(m, reason, attempts, true); !r.ok()) return r;
  return remove(entry);
}

Result<std::size_t> Dispatcher::run_once() {
  std::size_t delivered = 0;
  std::size_t waiting = 0;
  std::string after;
  bool mail_down = false;
  bool sms_down = false;
  for (;;) {
    auto entries = store_.read_outbox(after, options_.batch);
    if (!entries.ok()) return entries.error();
    if (entries->empty()) break;
    for (const auto& entry : *entries) {
      after = entry.key;
      auto message = domain::decode_outbox_message(entry.value);
      if (!message.ok()) {
        spdlog::error("dropping an unreadable outbox entry {}", entry.id);
        (void)store_.delete_outbox(entry.key);
        continue;
      }
      const auto now = clock_.now_us();
      auto& retry = retries_[entry.key];
      if (message->expires_at_us != 0 && now >= message->expires_at_us) {
        // Too late: a link or password past its expiry must never be sent.
        if (auto r = give_up(entry, *message, "expired before delivery", retry.attempts); !r.ok()) return r.error();
        continue;
      }
      const bool sms = message->channel == "sms";
      bool& down = sms ? sms_down : mail_down;
      if (retry.next_at_us > now || down) {
        ++waiting;
        continue;
      }
      if (options_.still_current) {
        auto current = options_.still_current(*message, now);
        if (!current.ok()) return current.error();
        if (!*current) {
          if (auto r = give_up(entry, *message, "superseded before delivery", retry.attempts); !r.ok()) {
            return r.error();
          }
          continue;
        }
      }
      Transport& transport = sms ? sms_ : mail_;
      auto sent = transport.deliver(*message, now);
      if (!sent.ok()) {
        ++retry.attempts;
        spdlog::warn("delivery of message {} failed (attempt {}): {}", message->id, retry.attempts,
                     sent.error().message);
        if (sent.error().code == "delivery_rejected") {
          if (auto r = give_up(entry, *message, sent.error().message, retry.attempts); !r.ok()) return r.error();
          continue;
        }
        domain::Micros backoff = options_.first_retry_us << std::min<std::int64_t>(retry.attempts - 1, 20);
        backoff = std::min(backoff, options_.max_retry_us);
        backoff += static_cast<domain::Micros>(random_.below(static_cast<std::uint32_t>(backoff / 2 + 1)));
        retry.next_at_us = now + backoff;
        down = true;
        ++waiting;
        if (auto r = record_failure(*message, sent.error().message, retry.attempts, false); !r.ok()) {
          return r.error();
        }
        continue;
      }
      auto r = record(*message, "NotificationSent",
                      domain::encode_payload(domain::NotificationSent{
                          message->id, message->guardian_id, message->channel, message->kind,
                          masked(*message)}));
      if (!r.ok()) return r.error();
      if (auto d = remove(entry); !d.ok()) return d.error();
      ++delivered;
      delivered_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  backlog_.store(waiting, std::memory_order_relaxed);
  return delivered;
}

void Dispatcher::start() {
  stopping_ = false;
  thread_ = std::thread([this] { follow(); });
}

void Dispatcher::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::follow() {
  while (!stopping_.load()) {
    // The head before the pass: anything appended during it wakes the wait.
    // (Our own NotificationSent appends do too; that costs one empty pass.)
    const std::uint64_t before = store_.head();
    auto r = run_once();
    if (!r.ok()) spdlog::error("outbox dispatch failed: {}", r.error().message);
    store_.wait_for(before, std::chrono::milliseconds(backlog() > 0 ? 200 : 500));
  }
}

}  // namespace latchkey::notifications
