// The production ports, on libsodium and the system clock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/domain/ports.hpp"
#include "latchkey/result.hpp"

namespace latchkey::commands {

// The system clock, plus an offset that only --dev-clock ever moves.
class SystemClock final : public domain::Clock {
 public:
  domain::Micros now_us() const override;
  void advance(domain::Micros by) { offset_us_.fetch_add(by, std::memory_order_relaxed); }

 private:
  std::atomic<domain::Micros> offset_us_{0};
};

class SodiumRandom final : public domain::Random {
 public:
  SodiumRandom();
  void fill(std::span<std::uint8_t> out) override;
};

// Argon2id cost presets: libsodium's interactive and moderate limits, and its
// minimum (for tests only; latchkeyd refuses it without --dev-clock).
enum class HashCost { interactive, moderate, test };
Result<HashCost> parse_hash_cost(std::string_view name);

class Argon2idHasher final : public domain::PasswordHasher {
 public:
  explicit Argon2idHasher(HashCost cost);
  std::string hash(std::string_view secret) override;
  bool verify(std::string_view hash, std::string_view secret) override;
  bool needs_rehash(std::string_view hash) override;

 private:
  unsigned long long opslimit_;
  std::size_t memlimit_;
};

// Keyed BLAKE2b-256. The key is the server's secret (DATA/token.key).
class Blake2bTokenHasher final : public domain::TokenHasher {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  explicit Blake2bTokenHasher(std::array<std::uint8_t, kKeyBytes> key) : key_(key) {}
  std::string hash(std::string_view token) const override;

 private:
  std::array<std::uint8_t, kKeyBytes> key_;
};

}  // namespace latchkey::commands
