// Idempotency-Key (SPEC §6): a retried command with the same key and the same
// body gets the first answer again and appends nothing; the same key with
// another body is refused (422). Keys are scoped to the caller (tenant and
// credential) and the route, remembered for 24 hours, at most `capacity` of
// them (oldest forgotten first). They live in memory: see docs/DECISIONS.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "latchkey/http/server.hpp"

namespace latchkey::app {

class IdempotencyStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit IdempotencyStore(std::size_t capacity = 100'000,
                            std::chrono::hours ttl = std::chrono::hours(24))
      : capacity_(capacity), ttl_(ttl) {}

  enum class Claim { fresh, replay, in_progress, mismatch };
  struct Lookup {
    Claim claim = Claim::fresh;
    http::Response response;  // when replay
  };

  // Claims `scope` for a request whose body digest is `body_digest`.
  Lookup claim(const std::string& scope, const std::string& body_digest) {
    std::lock_guard lock(mutex_);
    forget_old(Clock::now());
    auto [it, fresh] = entries_.try_emplace(scope, Entry{body_digest, std::nullopt, ++generation_});
    if (fresh) {
      order_.push_back({scope, it->second.generation, Clock::now()});
      return {};
    }
    if (it->second.body_digest != body_digest) return {Claim::mismatch, {}};
    if (!it->second.response) return {Claim::in_progress, {}};
    return {Claim::replay, *it->second.response};
  }

  // The first answer, kept for replays; or, for an answer not worth keeping
  // (a server error), forgets the claim so that a retry runs again.
  void settle(const std::string& scope, const http::Response& response) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(scope);
    if (it == entries_.end()) return;
    if (response.status >= 500) {
      entries_.erase(it);
    } else {
      it->second.response = response;
    }
  }

 private:
  struct Entry {
    std::string body_digest;
    std::optional<http::Response> response;
    std::uint64_t generation;  // tells a re-claimed scope from the one its queue record named
  };
  struct Claimed {
    std::string scope;
    std::uint64_t generation;
    Clock::time_point at;
  };

  // Oldest claims first: past the time to live, or beyond the capacity.
  void forget_old(Clock::time_point now) {
    while (!order_.empty() && (now - order_.front().at > ttl_ || order_.size() > capacity_)) {
      auto it = entries_.find(order_.front().scope);
      if (it != entries_.end() && it->second.generation == order_.front().generation) entries_.erase(it);
      order_.pop_front();
    }
  }

  std::size_t capacity_;
  std::chrono::hours ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<Claimed> order_;
  std::uint64_t generation_ = 0;
};

}  // namespace latchkey::app
