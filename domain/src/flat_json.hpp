// A reader for the one shape of JSON the log holds: what nlohmann's dump()
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

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace latchkey::domain::flat {

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

  // One multi-byte UTF-8 sequence at p_, as RFC 3629 allows it (no overlong
  // forms, no surrogates, nothing past U+10FFFF) — what nlohmann accepts.
  bool utf8_sequence() {
    const auto b0 = static_cast<unsigned char>(*p_);
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
      return false;
    }
    if (end_ - p_ < length) return false;
    const auto b1 = static_cast<unsigned char>(p_[1]);
    if (b1 < lo || b1 > hi) return false;
    for (int i = 2; i < length; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if (b < 0x80 || b > 0xBF) return false;
    }
    p_ += length;
    return true;
  }

  const char* p_;
  const char* end_;
};

}  // namespace latchkey::domain::flat

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
