// The ports through which the pure domain meets the world: time, randomness
// and the two kinds of hashing. The domain never reads a clock, draws a random
// number or calls a crypto library itself; app/ wires the concrete types
// (libsodium, the system clock) and tests wire fakes, so that every decision,
// expiry included, is a pure function of its inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace latchkey::domain {

// Microseconds since the Unix epoch.
using Micros = std::int64_t;
inline constexpr Micros kMicrosPerSecond = 1'000'000;

// Thread safety: every port implementation must be safe to call concurrently.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now_us() const = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with cryptographically strong random bytes.
  virtual void fill(std::span<std::uint8_t> out) = 0;

  // Derived helpers, implemented on top of fill().
  std::string token(std::size_t bytes);  // URL-safe base64 of `bytes` random bytes, no padding
  std::string uuid();                    // RFC 9562 version 4, lower-case
  // RFC 9562 version 7, lower-case: the Unix time in milliseconds of `now`,
  // then 74 random bits. Event ids: ids minted close in time sort close
  // together, so the store's event-id index grows at its end.
  std::string uuid_v7(Micros now);
  std::string id() { return token(16); } // 128 bits, 22 URL-safe characters (entity ids)
  std::uint32_t below(std::uint32_t bound);  // uniform in [0, bound), bound > 0
};

// Argon2id in production (crypto_pwhash_str). hash() and verify() are slow on
// purpose: call them from a worker thread, never from an I/O thread.
class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  virtual std::string hash(std::string_view secret) = 0;
  // False for a wrong secret and for a malformed hash.
  virtual bool verify(std::string_view hash, std::string_view secret) = 0;
  // True when `hash` was made with other parameters than the current ones.
  virtual bool needs_rehash(std::string_view hash) = 0;
};

// A keyed hash (BLAKE2b-256 with a server key in production) for high-entropy
// secrets: reset tokens, session tokens, API keys. Returns lower-case hex.
class TokenHasher {
 public:
  virtual ~TokenHasher() = default;
  virtual std::string hash(std::string_view token) const = 0;
};

}  // namespace latchkey::domain
