// A reader (and a writer) for the one shape of JSON the log holds: what nlohmann's dump()
// writes for a flat event payload — one object, no whitespace, fields that
// are strings, 64-bit integers, booleans or arrays of strings.
//
// It is a fast path, never the judge. It answers "read" only when the text
// is inside that subset and decodes to exactly what nlohmann's strict decoder
// (LATCHKEY_JSON_STRICT) gives; on anything else (whitespace, a \u escape,
// a number that is not a plain integer of at most 18 digits, a duplicate or
// unknown key, a nested object, bytes that are not UTF-8 ...) it declines,
// and the caller decodes with nlohmann, which decides and names the error.
// tests/domain/events_test.cpp and the fuzz_events target hold the two to
// the same answers.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace latchkey::domain::flat {

// The length of the multi-byte UTF-8 sequence at p as RFC 3629 allows it (no
// overlong forms, no surrogates, nothing past U+10FFFF; what nlohmann
// accepts), 0 if there is none.
inline int utf8_length(const char* p, const char* end) {
  const auto b0 = static_cast<unsigned char>(*p);
  int length = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (end - p < length) return 0;
  const auto b1 = static_cast<unsigned char>(p[1]);
  if (b1 < lo || b1 > hi) return 0;
  for (int i = 2; i < length; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return length;
}

class Reader {
 public:
  explicit Reader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at(char c) const { return p_ != end_ && *p_ == c; }
  bool done() const { return p_ == end_; }

  // A key: a string without escapes (every key the log writes).
  bool key(std::string_view& out) {
    if (!consume('"')) return false;
    const char* start = p_;
    while (p_ != end_ && *p_ != '"') {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ++p_;
    return consume(':');
  }

  bool read(std::string& out) {
    if (!consume('"')) return false;
    out.clear();
    const char* run = p_;  // bytes copied as they are, up to an escape or the end
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, static_cast<std::size_t>(p_ - run));
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        out.append(run, static_cast<std::size_t>(p_ - run));
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          default: return false;  // \u…: left to nlohmann
        }
        run = ++p_;
        continue;
      }
      if (c < 0x80) {
        ++p_;
        continue;
      }
      if (!utf8_sequence()) return false;
    }
    return false;
  }

  bool read(std::int64_t& out) {
    const bool negative = consume('-');
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && p_ + 1 != end_ && p_[1] >= '0' && p_[1] <= '9') return false;  // a leading zero
    std::int64_t v = 0;
    int digits = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      if (++digits > 18) return false;  // might not fit: left to nlohmann
      v = v * 10 + (*p_ - '0');
      ++p_;
    }
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;  // not an integer
    out = negative ? -v : v;
    return true;
  }

  bool read(bool& out) {
    if (literal("true")) {
      out = true;
      return true;
    }
    if (literal("false")) {
      out = false;
      return true;
    }
    return false;
  }

  bool read(std::vector<std::string>& out) {
    if (!consume('[')) return false;
    out.clear();
    if (consume(']')) return true;
    do {
      if (!read(out.emplace_back())) return false;
    } while (consume(','));
    return consume(']');
  }

  // Any other field type (nested objects): declined.
  template <class T>
  bool read(T&) {
    return false;
  }

 private:
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // One multi-byte UTF-8 sequence at p_ (see utf8_length).
  bool utf8_sequence() {
    const int length = utf8_length(p_, end_);
    p_ += length;
    return length != 0;
  }

  const char* p_;
  const char* end_;
};

// The writing side: what nlohmann's dump() writes for the same subset, byte
// for byte (keys in std::map order, strings escaped as its serializer
// escapes them, no whitespace), so that a payload written here is the one
// nlohmann would have written. Declines (returns false) on a nested object
// and on a string that is not UTF-8, which the caller leaves to nlohmann.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  bool write(const std::string& s) {
    out_ += '"';
    const char* run = s.data();  // bytes copied as they are
    const char* const end = s.data() + s.size();
    for (const char* p = run; p != end;) {
      const auto c = static_cast<unsigned char>(*p);
      if (c >= 0x80) {
        const int length = utf8_length(p, end);
        if (length == 0) return false;
        p += length;
        continue;
      }
      if (c >= 0x20 && c != '"' && c != '\\') {
        ++p;
        continue;
      }
      out_.append(run, static_cast<std::size_t>(p - run));
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(escape, sizeof escape);
        }
      }
      run = ++p;
    }
    out_.append(run, static_cast<std::size_t>(end - run));
    out_ += '"';
    return true;
  }

  template <std::integral T>
  bool write(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_ += v ? "true" : "false";
    } else {
      out_ += std::to_string(v);
    }
    return true;
  }

  bool write(const std::vector<std::string>& v) {
    out_ += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out_ += ',';
      if (!write(v[i])) return false;
    }
    out_ += ']';
    return true;
  }

  // Any other field type (nested objects): declined.
  template <class T>
  bool write(const T&) {
    return false;
  }

  void raw(std::string_view text) { out_ += text; }

 private:
  std::string& out_;
};

// The order in which nlohmann's object (a std::map) writes these keys.
template <std::size_t N>
std::array<std::size_t, N> key_order(const char* const (&names)[N]) {
  std::array<std::size_t, N> order;
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return std::string_view(names[a]) < std::string_view(names[b]); });
  return order;
}

}  // namespace latchkey::domain::flat

// Defines `bool flat_to_json(std::string&, const Type&)`: appends the
// object as nlohmann's dump() writes it, or declines (false; `out` is then
// to be discarded) when a field is outside the flat subset.
#define LATCHKEY_FLAT_NAME(field) #field,
#define LATCHKEY_FLAT_WRITE(field) \
  [](::latchkey::domain::flat::Writer& writer, const auto& in) { return writer.write(in.field); },
#define LATCHKEY_JSON_FLAT_OUT(Type, ...)                                                          \
  bool flat_to_json(std::string& out, const Type& in) {                                            \
    using Field = bool (*)(::latchkey::domain::flat::Writer&, const Type&);                        \
    static constexpr const char* names[] = {                                                       \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_FLAT_NAME, __VA_ARGS__))};               \
    static constexpr Field fields[] = {                                                            \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_FLAT_WRITE, __VA_ARGS__))};              \
    static const auto order = ::latchkey::domain::flat::key_order(names);                          \
    ::latchkey::domain::flat::Writer writer(out);                                                  \
    writer.raw("{");                                                                               \
    for (std::size_t i = 0; i < order.size(); ++i) {                                               \
      writer.raw(i == 0 ? "\"" : ",\"");                                                           \
      writer.raw(names[order[i]]);                                                                 \
      writer.raw("\":");                                                                           \
      if (!fields[order[i]](writer, in)) return false;                                             \
    }                                                                                              \
    writer.raw("}");                                                                               \
    return true;                                                                                   \
  }

// Defines `bool flat_from_json(std::string_view, Type&)`: true when the text
// is a flat object with exactly these fields, each once, read into `Type`.
#define LATCHKEY_FLAT_SEEN(field) bool latchkey_seen_##field = false;
#define LATCHKEY_FLAT_FIELD(field)                                              \
  if (!matched && key == #field) {                                              \
    if (latchkey_seen_##field || !reader.read(out.field)) return false;         \
    latchkey_seen_##field = matched = true;                                     \
  }
#define LATCHKEY_FLAT_CHECK(field) &&latchkey_seen_##field

#define LATCHKEY_JSON_FLAT(Type, ...)                                           \
  bool flat_from_json(std::string_view text, Type& out) {                       \
    ::latchkey::domain::flat::Reader reader(text);                              \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_FLAT_SEEN, __VA_ARGS__))  \
    if (!reader.consume('{')) return false;                                     \
    if (!reader.at('}')) {                                                      \
      do {                                                                      \
        std::string_view key;                                                   \
        if (!reader.key(key)) return false;                                     \
        bool matched = false;                                                   \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_FLAT_FIELD, __VA_ARGS__)) \
        if (!matched) return false;                                             \
      } while (reader.consume(','));                                            \
    }                                                                           \
    return reader.consume('}') && reader.done()                                 \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_FLAT_CHECK, __VA_ARGS__)); \
  }
