#include "record_codec.hpp"

#include <sodium.h>

#include <cstring>

namespace latchkey::eventstore::codec {
namespace {

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
  }
}

void put_str(std::string& out, std::string_view s) {
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  template <class T>
  bool le(T& v) {
    if (in_.size() < sizeof(T)) return false;
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      acc |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    v = static_cast<T>(acc);
    in_.remove_prefix(sizeof(T));
    return true;
  }

  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!le(n) || in_.size() < n) return false;
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }

  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

void encode_canonical(const RecordedEvent& e, std::string& out) {
  const EventData& d = e.data;
  out.reserve(out.size() + 64 + e.stream_id.size() + d.event_id.size() + d.type.size() +
              d.tenant.size() + d.actor.kind.size() + d.actor.id.size() + d.actor.name.size() +
              d.correlation_id.size() + d.causation_id.size() + d.source_ip.size() +
              d.payload.size() + 11 * 4 + kHashSize);
  out.push_back(static_cast<char>(kFormat));
  put_le<std::uint64_t>(out, e.position);
  put_le<std::uint64_t>(out, e.stream_version);
  put_le<std::uint32_t>(out, d.schema_version);
  put_le<std::uint64_t>(out, static_cast<std::uint64_t>(d.recorded_at_us));
  for (std::string_view s : {std::string_view(e.stream_id), std::string_view(d.event_id),
                             std::string_view(d.type), std::string_view(d.tenant),
                             std::string_view(d.actor.kind), std::string_view(d.actor.id),
                             std::string_view(d.actor.name), std::string_view(d.correlation_id),
                             std::string_view(d.causation_id), std::string_view(d.source_ip),
                             std::string_view(d.payload)}) {
    put_str(out, s);
  }
}

Hash chain_hash(const Hash& previous, std::string_view canonical) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kHashSize);
  crypto_generichash_update(&state, previous.data(), previous.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(canonical.data()),
                            canonical.size());
  Hash h;
  crypto_generichash_final(&state, h.data(), h.size());
  return h;
}

std::string encode_stored(const RecordedEvent& event) {
  std::string out;
  encode_canonical(event, out);
  out.append(reinterpret_cast<const char*>(event.hash.data()), event.hash.size());
  return out;
}

std::string_view canonical_part(std::string_view stored) {
  return stored.size() < kHashSize ? std::string_view{} : stored.substr(0, stored.size() - kHashSize);
}

Result<RecordedEvent> decode_stored(std::string_view stored) {
  RecordedEvent e;
  if (auto r = decode_into(stored, e); !r.ok()) return r.error();
  return e;
}

Result<void> decode_into(std::string_view stored, RecordedEvent& e) {
  auto bad = [](const char* what) {
    return make_error(kCorruption, std::string("stored event is malformed: ") + what);
  };
  if (stored.size() < 1 + kHashSize) return bad("too short");
  if (static_cast<std::uint8_t>(stored[0]) != kFormat) return bad("unknown format");
  Reader r(canonical_part(stored).substr(1));
  std::uint64_t recorded_at = 0;
  EventData& d = e.data;
  if (!r.le(e.position) || !r.le(e.stream_version) || !r.le(d.schema_version) ||
      !r.le(recorded_at)) {
    return bad("truncated header");
  }
  d.recorded_at_us = static_cast<std::int64_t>(recorded_at);
  for (std::string* s : {&e.stream_id, &d.event_id, &d.type, &d.tenant, &d.actor.kind,
                         &d.actor.id, &d.actor.name, &d.correlation_id, &d.causation_id,
                         &d.source_ip, &d.payload}) {
    if (!r.str(*s)) return bad("truncated field");
  }
  if (!r.empty()) return bad("trailing bytes");
  std::memcpy(e.hash.data(), stored.data() + stored.size() - kHashSize, kHashSize);
  return {};
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string position_key(std::uint64_t position) {
  std::string k;
  put_be64(k, position);
  return k;
}

std::uint64_t get_be64(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < in.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  return v;
}

}  // namespace latchkey::eventstore::codec
