#include "latchkey/commands/sodium_ports.hpp"

#include <sodium.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "latchkey/domain/encoding.hpp"

namespace latchkey::commands {
namespace {

void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

domain::Micros SystemClock::now_us() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count() +
         offset_us_.load(std::memory_order_relaxed);
}

SodiumRandom::SodiumRandom() { ensure_sodium(); }

namespace {

// Fills `out` from the kernel's generator in as few calls as it allows
// (getrandom(2) hands out up to 32 MiB per call from the urandom source;
// libsodium's randombytes_buf asks for 256 bytes at a time).
void fill_from_kernel(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t got = ::getrandom(out.data() + done, out.size() - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      randombytes_buf(out.data() + done, out.size() - done);  // no getrandom(2): libsodium's way
      return;
    }
    done += static_cast<std::size_t>(got);
  }
}

}  // namespace

// Small requests (event ids, message ids, tokens: several per command) are
// served from a per-thread buffer that one call to the OS's generator
// fills: a getrandom syscall each cost ~9% of a command thread's time, and
// a 512-byte buffer still took one every three reset-requests. Bytes handed
// out are wiped from the buffer, so it holds only bytes not yet used.
// (latchkeyd never forks, which would copy a buffer into two processes.)
void SodiumRandom::fill(std::span<std::uint8_t> out) {
  constexpr std::size_t kBuffered = 4096;
  constexpr std::size_t kLargest = 64;  // larger requests go to the OS directly
  struct Buffer {
    std::array<std::uint8_t, kBuffered> bytes{};
    std::size_t used = kBuffered;
    ~Buffer() { sodium_memzero(bytes.data(), bytes.size()); }
  };
  thread_local Buffer buffer;
  if (out.size() > kLargest) {
    randombytes_buf(out.data(), out.size());
    return;
  }
  if (kBuffered - buffer.used < out.size()) {
    fill_from_kernel(buffer.bytes);
    buffer.used = 0;
  }
  std::memcpy(out.data(), buffer.bytes.data() + buffer.used, out.size());
  sodium_memzero(buffer.bytes.data() + buffer.used, out.size());
  buffer.used += out.size();
}

Result<HashCost> parse_hash_cost(std::string_view name) {
  if (name == "interactive") return HashCost::interactive;
  if (name == "moderate") return HashCost::moderate;
  if (name == "test") return HashCost::test;
  return make_error("invalid_input", "password hash cost is interactive, moderate or test");
}

Argon2idHasher::Argon2idHasher(HashCost cost) {
  ensure_sodium();
  switch (cost) {
    case HashCost::interactive:
      opslimit_ = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
      memlimit_ = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
      break;
    case HashCost::moderate:
      opslimit_ = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
      memlimit_ = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
      break;
    case HashCost::test:
      opslimit_ = crypto_pwhash_argon2id_OPSLIMIT_MIN;
      memlimit_ = crypto_pwhash_argon2id_MEMLIMIT_MIN;
      break;
  }
}

std::string Argon2idHasher::hash(std::string_view secret) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, secret.data(), secret.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("Argon2id ran out of memory");
  }
  return std::string(out);
}

bool Argon2idHasher::verify(std::string_view hash, std::string_view secret) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string terminated(hash);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_str_verify(terminated.c_str(), secret.data(), secret.size()) == 0;
}

bool Argon2idHasher::needs_rehash(std::string_view hash) {
  std::string terminated(hash);
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), opslimit_, memlimit_) != 0;
}

std::string Blake2bTokenHasher::hash(std::string_view token) const {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     key_.data(), key_.size());
  return domain::hex_encode(out);
}

}  // namespace latchkey::commands
