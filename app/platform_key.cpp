#include "platform_key.hpp"

#include "latchkey/domain/encoding.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace latchkey::app {
namespace {

Result<void> write_secret_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot_write_key", "cannot create " + tmp);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error("cannot_write_key", "cannot write " + path);
  }
  return {};
}

}  // namespace

std::string blake2b_hex(std::string_view data) {
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), nullptr, 0);
  return domain::hex_encode(std::span<const unsigned char>(digest, sizeof digest));
}

Result<std::optional<std::string>> ensure_platform_key(eventstore::EventStore& store,
                                                       const std::string& data_dir,
                                                       domain::Random& random,
                                                       const domain::Clock& clock) {
  constexpr const char* kStream = "platform";
  auto last = store.read_last(kStream);
  if (!last.ok()) return last.error();
  if (last->has_value()) return std::optional<std::string>{};

  const std::string key = "lk_platform_" + random.token(32);

  // The file first: an event for a key nobody holds would lock the platform out.
  if (auto w = write_secret_file((std::filesystem::path(data_dir) / "platform.key").string(),
                                 key + "\n");
      !w.ok()) {
    return w.error();
  }
  eventstore::EventData e;
  e.recorded_at_us = clock.now_us();
  e.event_id = random.uuid_v7(e.recorded_at_us);
  e.type = "PlatformKeyIssued";
  e.actor = {"system", "", "latchkeyd"};
  e.correlation_id = e.event_id;
  e.payload = std::string(R"({"key_id":"platform","key_hash":")") + blake2b_hex(key) + "\"}";
  eventstore::AppendRequest request;
  request.streams.push_back({kStream, eventstore::ExpectedVersion::no_stream(), {std::move(e)}});
  auto appended = store.append(std::move(request));
  if (!appended.ok()) return appended.error();
  return std::optional<std::string>(std::move(key));
}

Result<std::string> platform_key_hash(eventstore::EventStore& store) {
  auto last = store.read_last("platform");
  if (!last.ok()) return last.error();
  if (!last->has_value()) return make_error("no_platform_key", "the platform key was never issued");
  auto payload = nlohmann::json::parse((*last)->data.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("key_hash") || !payload["key_hash"].is_string()) {
    return make_error("corruption", "PlatformKeyIssued has no key_hash");
  }
  return payload["key_hash"].get<std::string>();
}

Result<std::array<std::uint8_t, 32>> load_or_create_token_key(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "token.key").string();
  std::array<std::uint8_t, 32> key{};
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string hex;
    in >> hex;
    if (hex.size() != 64 ||
        sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, nullptr, nullptr) != 0) {
      return make_error("bad_token_key", path + " does not hold 64 hex digits");
    }
    return key;
  }
  randombytes_buf(key.data(), key.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  if (auto w = write_secret_file(path, std::string(hex) + "\n"); !w.ok()) return w.error();
  return key;
}

}  // namespace latchkey::app
