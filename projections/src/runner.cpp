#include "latchkey/projections/runner.hpp"

#include <algorithm>

namespace latchkey::projections {

std::string checkpoint_key(std::string_view projection_name) {
  return "checkpoint/" + std::string(projection_name);
}

ProjectionRunner::ProjectionRunner(eventstore::EventStore& store, ReadModelDb& db,
                                   std::vector<std::unique_ptr<Projection>> projections, RunnerOptions options)
    : store_(store), db_(db), options_(options) {
  for (auto& p : projections) slots_.push_back(Slot{std::move(p), {}});
}

ProjectionRunner::~ProjectionRunner() { stop(); }

Result<void> ProjectionRunner::open() {
  for (auto& slot : slots_) {
    auto& p = *slot.projection;
    auto stored = db_.get(checkpoint_key(p.name()));
    if (!stored) return stored.error();
    Checkpoint cp;
    if (stored->has_value()) {
      auto j = nlohmann::json::parse(**stored, nullptr, false);
      if (j.is_object()) {
        cp.position = j.value("position", std::uint64_t{0});
        cp.schema_version = j.value("schema_version", std::uint32_t{0});
      }
    }
    if (!stored->has_value() || cp.schema_version != p.schema_version()) {
      // New, or its code changed shape: start it over rather than mix shapes.
      if (auto r = db_.erase_prefix(std::string(p.name()) + "/"); !r) return r;
      cp = Checkpoint{0, p.schema_version()};
      p.reset();
    }
    slot.checkpoint = cp;
  }
  publish_applied();
  return {};
}

Result<void> ProjectionRunner::reset(std::string_view name) {
  bool found = false;
  for (auto& slot : slots_) {
    auto& p = *slot.projection;
    if (!name.empty() && p.name() != name) continue;
    found = true;
    if (auto r = db_.erase_prefix(std::string(p.name()) + "/"); !r) return r;
    auto writes = db_.begin();
    writes->erase(checkpoint_key(p.name()));
    if (auto r = db_.commit(*writes); !r) return r;
    p.reset();
    slot.checkpoint = Checkpoint{0, p.schema_version()};
  }
  if (!found) return make_error("not_found", "no projection named " + std::string(name));
  publish_applied();
  return {};
}

void ProjectionRunner::publish_applied() {
  std::uint64_t low = ~std::uint64_t{0};
  for (const auto& slot : slots_) low = std::min(low, slot.checkpoint.position);
  if (slots_.empty()) low = store_.head();
  {
    std::lock_guard lock(mutex_);
    applied_.store(low, std::memory_order_release);
  }
  advanced_.notify_all();
}

Result<std::uint64_t> ProjectionRunner::apply_batch(std::uint64_t to) {
  const std::uint64_t from = applied() + 1;
  to = std::min(to, from + options_.max_batch_events - 1);
  auto writes = db_.begin();
  Error failure;
  bool failed = false;
  std::uint64_t last = from - 1;
  auto visited = store_.for_each_event(from, to, [&](const eventstore::RecordedEvent& recorded) {
    auto event = domain::decode_event(recorded.data.type, recorded.data.schema_version, recorded.data.payload);
    if (!event) {
      failure = make_error(eventstore::kCorruption, "position " + std::to_string(recorded.position) + ": " +
                                                        event.error().message);
      failed = true;
      return false;
    }
    for (auto& slot : slots_) {
      if (slot.checkpoint.position < recorded.position) slot.projection->apply(recorded, *event, *writes);
    }
    last = recorded.position;
    return true;
  });
  if (!visited) return visited.error();
  if (failed) {
    for (auto& slot : slots_) slot.projection->reset();
    return failure;
  }
  if (last < from) return last;
  for (auto& slot : slots_) {
    auto& p = *slot.projection;
    p.flush(*writes);
    nlohmann::json cp = {{"position", std::max(last, slot.checkpoint.position)},
                         {"schema_version", p.schema_version()}};
    writes->put(checkpoint_key(p.name()), cp.dump());
  }
  if (auto r = db_.commit(*writes); !r) {
    // Nothing was written: forget what the projections kept in memory too.
    for (auto& slot : slots_) slot.projection->reset();
    return r.error();
  }
  for (auto& slot : slots_) slot.checkpoint.position = std::max(last, slot.checkpoint.position);
  publish_applied();
  return last;
}

Result<void> ProjectionRunner::catch_up(std::uint64_t until,
                                        const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const std::uint64_t target = until == 0 ? store_.head() : std::min(until, store_.head());
  while (applied() < target) {
    auto r = apply_batch(target);
    if (!r) return r.error();
    if (progress) progress(*r, target);
    if (*r < applied()) break;  // nothing more to read
  }
  return {};
}

void ProjectionRunner::follow() {
  while (!stopping_.load()) {
    if (store_.head() <= applied()) {
      store_.wait_for(applied(), options_.idle_wait);
      continue;
    }
    auto r = catch_up();
    if (!r) {
      {
        std::lock_guard lock(mutex_);
        last_error_ = r.error().message;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

void ProjectionRunner::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { follow(); });
}

void ProjectionRunner::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool ProjectionRunner::wait_for(std::uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return advanced_.wait_for(lock, timeout, [&] { return applied_.load() >= position; });
}

Checkpoint ProjectionRunner::checkpoint(std::string_view name) const {
  for (const auto& slot : slots_) {
    if (slot.projection->name() == name) return slot.checkpoint;
  }
  return {};
}

std::string ProjectionRunner::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace latchkey::projections
