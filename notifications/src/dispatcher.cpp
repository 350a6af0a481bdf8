#include "latchkey/notifications/dispatcher.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "latchkey/domain/events.hpp"
#include "latchkey/domain/validation.hpp"
#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {

namespace {

std::string masked(const domain::OutboxMessage& m) {
  return m.channel == "sms" ? domain::mask_phone(m.to) : domain::mask_email(m.to);
}

}  // namespace

std::vector<Result<void>> Transport::deliver_batch(std::span<const domain::OutboxMessage* const> messages,
                                                   domain::Micros now_us) {
  std::vector<Result<void>> results;
  results.reserve(messages.size());
  for (const auto* m : messages) {
    results.push_back(deliver(*m, now_us));
    if (!results.back().ok() && results.back().error().code != kDeliveryRejected) break;
  }
  return results;
}

Dispatcher::Dispatcher(eventstore::EventStore& store, domain::Clock& clock, domain::Random& random,
                       Transport& mail, Transport& sms, DispatcherOptions options)
    : store_(store), clock_(clock), random_(random), mail_(mail), sms_(sms), options_(options) {}

Dispatcher::~Dispatcher() { stop(); }

eventstore::EventData Dispatcher::event(const domain::OutboxMessage& m, const std::string& type,
                                        std::string payload) {
  eventstore::EventData e;
  e.recorded_at_us = clock_.now_us();
  e.event_id = random_.uuid_v7(e.recorded_at_us);
  e.type = type;
  e.schema_version = domain::kSchemaVersion;
  e.tenant = m.tenant;
  e.actor = {"system", "dispatcher", "Message dispatcher"};
  e.correlation_id = m.id;
  e.causation_id = m.id;
  e.payload = std::move(payload);
  return e;
}

eventstore::EventData Dispatcher::failure(const domain::OutboxMessage& m, const std::string& reason,
                                          std::int64_t attempts, bool final) {
  return event(m, "NotificationFailed",
               domain::encode_payload(domain::NotificationFailed{m.id, m.guardian_id, m.channel, m.kind,
                                                                 masked(m), reason, attempts, final}));
}

Result<bool> Dispatcher::run_page(std::string& after, bool& mail_down, bool& sms_down, std::size_t& delivered,
                                  std::size_t& waiting) {
  auto entries = store_.read_outbox(after, options_.batch);
  if (!entries.ok()) return entries.error();
  if (entries->empty()) return false;
  after = entries->back().key;

  // Per entry, in outbox order: its message, and the event that records what
  // became of it (none while it waits).
  const auto now = clock_.now_us();
  const std::size_t n = entries->size();
  std::vector<domain::OutboxMessage> messages(n);
  std::vector<std::optional<eventstore::EventData>> outcomes(n);
  std::vector<std::string> done;  // keys of delivered, given-up and unreadable entries
  std::vector<std::size_t> due_mail, due_sms;

  for (std::size_t i = 0; i < n; ++i) {
    const auto& entry = (*entries)[i];
    auto message = domain::decode_outbox_message(entry.value);
    if (!message.ok()) {
      spdlog::error("dropping an unreadable outbox entry {}", entry.id);
      done.push_back(entry.key);
      continue;
    }
    const auto& m = messages[i] = std::move(*message);
    const auto& retry = retries_[entry.key];
    if (m.expires_at_us != 0 && now >= m.expires_at_us) {
      // Too late: a link or password past its expiry must never be sent.
      outcomes[i] = failure(m, "expired before delivery", retry.attempts, true);
      done.push_back(entry.key);
      continue;
    }
    const bool sms = m.channel == "sms";
    if (retry.next_at_us > now || (sms ? sms_down : mail_down)) {
      ++waiting;
      continue;
    }
    if (options_.still_current) {
      auto current = options_.still_current(m, now);
      if (!current.ok()) return current.error();
      if (!*current) {
        outcomes[i] = failure(m, "superseded before delivery", retry.attempts, true);
        done.push_back(entry.key);
        continue;
      }
    }
    (sms ? due_sms : due_mail).push_back(i);
  }

  // Records the outcomes so far in one append (a stream write per tenant, its
  // events in outbox order) that also deletes their entries: what became of
  // a message and the end of its entry are durable together.
  auto record = [&]() -> Result<void> {
    eventstore::AppendRequest request;
    std::map<std::string_view, std::size_t> stream_of_tenant;
    for (std::size_t i = 0; i < n; ++i) {
      if (!outcomes[i]) continue;
      auto [it, fresh] = stream_of_tenant.try_emplace(messages[i].tenant, request.streams.size());
      if (fresh) {
        request.streams.push_back({"notifications:" + messages[i].tenant, eventstore::ExpectedVersion::any(), {}});
      }
      request.streams[it->second].events.push_back(std::move(*outcomes[i]));
      outcomes[i].reset();
    }
    if (!request.streams.empty()) {
      request.outbox_done = done;
      if (auto r = store_.append(std::move(request)); !r.ok()) return r.error();
    } else if (auto d = store_.delete_outbox(done); !d.ok()) {  // unreadable entries alone
      return d;
    }
    for (const auto& key : done) retries_.erase(key);
    done.clear();
    return {};
  };

  // Hands the due messages over in batches of what the transport takes at
  // once, recording each batch before the next goes: a crash re-sends at
  // most the batch in flight (one message, for SMTP and the webhook).
  auto send = [&](const std::vector<std::size_t>& due, Transport& transport, bool& down) -> Result<void> {
    const std::size_t limit = std::max<std::size_t>(transport.max_batch(), 1);
    for (std::size_t first = 0; first < due.size(); first += limit) {
      if (down) {  // the rest waits for the next pass
        waiting += due.size() - first;
        break;
      }
      const std::size_t count = std::min(limit, due.size() - first);
      std::vector<const domain::OutboxMessage*> batch;
      batch.reserve(count);
      for (std::size_t k = 0; k < count; ++k) batch.push_back(&messages[due[first + k]]);
      auto results = transport.deliver_batch(batch, now);
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t i = due[first + k];
        const auto& m = messages[i];
        const auto& key = (*entries)[i].key;
        if (k >= results.size()) {  // not attempted: the transport went down before it
          ++waiting;
          continue;
        }
        if (results[k].ok()) {
          outcomes[i] = event(m, "NotificationSent",
                              domain::encode_payload(domain::NotificationSent{m.id, m.guardian_id, m.channel,
                                                                              m.kind, masked(m)}));
          done.push_back(key);
          ++delivered;
          continue;
        }
        const auto& error = results[k].error();
        auto& retry = retries_[key];
        ++retry.attempts;
        spdlog::warn("delivery of message {} failed (attempt {}): {}", m.id, retry.attempts, error.message);
        if (error.code == kDeliveryRejected) {
          outcomes[i] = failure(m, error.message, retry.attempts, true);
          done.push_back(key);
          continue;
        }
        domain::Micros backoff = options_.first_retry_us << std::min<std::int64_t>(retry.attempts - 1, 20);
        backoff = std::min(backoff, options_.max_retry_us);
        backoff += static_cast<domain::Micros>(random_.below(static_cast<std::uint32_t>(backoff / 2 + 1)));
        retry.next_at_us = now + backoff;
        down = true;
        ++waiting;
        outcomes[i] = failure(m, error.message, retry.attempts, false);
      }
      if (auto r = record(); !r.ok()) return r;
    }
    return {};
  };
  if (auto r = send(due_mail, mail_, mail_down); !r.ok()) return r.error();
  if (auto r = send(due_sms, sms_, sms_down); !r.ok()) return r.error();
  // What was dropped without an attempt (expired, superseded, unreadable).
  if (auto r = record(); !r.ok()) return r.error();
  return true;
}

Result<std::size_t> Dispatcher::run_once() {
  std::size_t delivered = 0;
  std::size_t waiting = 0;
  std::string after = floor_;
  bool mail_down = false;
  bool sms_down = false;
  for (;;) {
    const std::size_t before = delivered;
    auto more = run_page(after, mail_down, sms_down, delivered, waiting);
    delivered_.fetch_add(delivered - before, std::memory_order_relaxed);
    if (!more.ok()) return more.error();
    if (!*more) break;
    // While nothing has been left waiting, every entry up to here is gone:
    // the next pass starts after them rather than stepping over their
    // deletions again (the outbox only grows at its end).
    if (waiting == 0) floor_ = after;
  }
  backlog_.store(waiting, std::memory_order_relaxed);
  return delivered;
}

void Dispatcher::start() {
  stopping_ = false;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "lk-dispatcher");
    follow();
  });
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
