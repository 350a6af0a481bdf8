// Per-source-IP token buckets for the public routes (SPEC §6): each address
// may make `burst` requests at once and `per_minute` on average. A refusal
// says how long until the next request would be admitted (Retry-After).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace latchkey::app {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // per_minute 0 disables the limit.
  RateLimiter(double per_minute, double burst) : rate_per_s_(per_minute / 60.0), burst_(burst) {}

  // 0 when admitted; otherwise the whole seconds to wait.
  int admit(const std::string& key, Clock::time_point now = Clock::now()) {
    if (rate_per_s_ <= 0) return 0;
    std::lock_guard lock(mutex_);
    if (buckets_.size() > kMaxTracked) forget_full(now);
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      double elapsed = std::chrono::duration<double>(now - b.at).count();
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_per_s_);
      b.at = now;
    }
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      return 0;
    }
    return static_cast<int>(std::ceil((1.0 - b.tokens) / rate_per_s_));
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  static constexpr std::size_t kMaxTracked = 100'000;

  // Drops buckets that have refilled: they hold no state worth keeping.
  void forget_full(Clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double elapsed = std::chrono::duration<double>(now - it->second.at).count();
      if (it->second.tokens + elapsed * rate_per_s_ >= burst_) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
  }

  double rate_per_s_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace latchkey::app
