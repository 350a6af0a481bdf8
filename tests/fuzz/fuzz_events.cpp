// libFuzzer: event decoding. The bytes are a stored record (as the store
// decodes it from RocksDB) and, split at the first NUL, an event type and a
// payload for the domain's decoder. Neither may crash, hang or leak; what
// decodes must encode back to something that decodes the same; the
// decoder's fast path must answer as the nlohmann reference does; and the
// encoder's fast writer must write what nlohmann writes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/domain/events.hpp"
#include "record_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)latchkey::eventstore::codec::decode_stored(bytes);

  const auto split = bytes.find('\0');
  if (split == std::string_view::npos) return 0;
  const auto type = bytes.substr(0, split);
  const auto payload = bytes.substr(split + 1);
  auto event = latchkey::domain::decode_event(type, latchkey::domain::kSchemaVersion, payload);
  auto reference = latchkey::domain::decode_event_reference(type, latchkey::domain::kSchemaVersion, payload);
  if (event.ok() != reference.ok()) __builtin_trap();
  if (event.ok() && latchkey::domain::encode_payload(*event) != latchkey::domain::encode_payload(*reference)) {
    __builtin_trap();
  }
  if (event.ok()) {
    const std::string encoded = latchkey::domain::encode_payload(*event);
    if (encoded != latchkey::domain::encode_payload_reference(*event)) __builtin_trap();
    auto again = latchkey::domain::decode_event(type, latchkey::domain::kSchemaVersion, encoded);
    if (!again.ok() || latchkey::domain::encode_payload(*again) != encoded) __builtin_trap();
  }
  return 0;
}
