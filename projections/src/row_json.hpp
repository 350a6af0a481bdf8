// Writes read-model rows as JSON text without building a JSON document.
//
// Rows are written far more often than they are read (a rebuild writes every
// changed row once per batch; a live fold writes each row an event touches),
// and building nlohmann's document only to dump it was the largest part of a
// rebuild. The text is what nlohmann's dump() writes, except that an object's
// fields come in declaration order rather than sorted: whatever parses it
// (Rows, the read models, nlohmann) reads the same value.
// tests/projections/row_json_test.cpp holds the two to that.
//
// LATCHKEY_ROW_JSON(Type, fields...) defines `void write_json(std::string&,
// const Type&)`; a field of a type it does not know (the tenant's settings)
// is written by nlohmann, so every row can use it.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace latchkey::projections::row_json {

// A JSON string, escaped as nlohmann's dump() escapes it. Text with bytes
// past ASCII goes to nlohmann whole, which copies valid UTF-8 as it is and
// refuses anything else with the error it always gave.
inline void write_string(std::string& out, std::string_view s) {
  for (const char ch : s) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      out += nlohmann::json(s).dump();
      return;
    }
  }
  out += '"';
  std::size_t run = 0;  // the start of the bytes copied as they are
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* escape = nullptr;
    switch (c) {
      case '"': escape = "\\\""; break;
      case '\\': escape = "\\\\"; break;
      case '\b': escape = "\\b"; break;
      case '\f': escape = "\\f"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      case '\t': escape = "\\t"; break;
      default:
        if (c >= 0x20) continue;
    }
    out.append(s.data() + run, i - run);
    if (escape != nullptr) {
      out += escape;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};  // other maps (keyed by number) go to nlohmann
template <class V>
struct is_string_map<std::map<std::string, V>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
void write(std::string& out, const T& v);

template <class T>
void write_integer(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <class T>
void write(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    write_string(out, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    write_integer(out, v);
  } else if constexpr (std::is_enum_v<T>) {
    write_integer(out, static_cast<std::underlying_type_t<T>>(v));  // as nlohmann writes a plain enum
  } else if constexpr (is_optional<T>::value) {
    if (v) {
      write(out, *v);
    } else {
      out += "null";
    }
  } else if constexpr (is_vector<T>::value) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i != 0) out += ',';
      write(out, v[i]);
    }
    out += ']';
  } else if constexpr (is_string_map<T>::value) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : v) {
      if (!first) out += ',';
      first = false;
      write_string(out, key);
      out += ':';
      write(out, value);
    }
    out += '}';
  } else if constexpr (requires { write_json(out, v); }) {
    write_json(out, v);  // a row type (LATCHKEY_ROW_JSON), found by argument-dependent lookup
  } else {
    out += nlohmann::json(v).dump();  // anything else: nlohmann, exactly as before
  }
}

// `"name":` — field names are plain identifiers, never escaped.
inline void write_key(std::string& out, std::string_view name, bool first) {
  if (!first) out += ',';
  out += '"';
  out += name;
  out += "\":";
}

}  // namespace latchkey::projections::row_json

#define LATCHKEY_ROW_JSON_FIELD(field)                                          \
  ::latchkey::projections::row_json::write_key(out, #field, latchkey_first);    \
  latchkey_first = false;                                                       \
  ::latchkey::projections::row_json::write(out, row.field);

#define LATCHKEY_ROW_JSON(Type, ...)                                            \
  void write_json(std::string& out, const Type& row) {                          \
    bool latchkey_first = true;                                                 \
    out += '{';                                                                 \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_ROW_JSON_FIELD, __VA_ARGS__)) \
    out += '}';                                                                 \
  }
