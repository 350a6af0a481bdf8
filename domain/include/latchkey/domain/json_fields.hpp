// Strict JSON encodings for plain structs.
//
// LATCHKEY_JSON_STRICT(Type, fields...) defines (once, in a .cpp) to_json and a from_json that
// requires every field, with its exact JSON type, and refuses any field it does
// not know. Decoding a stored event therefore either reproduces exactly what
// was written or fails with a clear error; nothing is silently defaulted.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

namespace latchkey::domain {

// Whether every number in `j` is an integer that fits std::int64_t, the only
// numbers stored types hold. Decoders check it first: nlohmann converts a
// float (or an integer too large, which it parses as a float) to an integer
// field with an undefined cast (found by fuzz_events).
inline bool only_int64_numbers(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::number_float:
      return false;
    case nlohmann::json::value_t::number_unsigned:
      return j.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
    case nlohmann::json::value_t::object:
    case nlohmann::json::value_t::array:
      for (const auto& v : j) {
        if (!only_int64_numbers(v)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace latchkey::domain

#define LATCHKEY_JSON_COUNT(field) +1

#define LATCHKEY_JSON_STRICT(Type, ...)                                                   \
  void to_json(nlohmann::json& nlohmann_json_j, const Type& nlohmann_json_t) {    \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_TO, __VA_ARGS__))              \
  }                                                                                       \
  void from_json(const nlohmann::json& nlohmann_json_j, Type& nlohmann_json_t) {  \
    if (!nlohmann_json_j.is_object()) {                                                   \
      throw nlohmann::detail::type_error::create(302, #Type " must be a JSON object",     \
                                                 &nlohmann_json_j);                       \
    }                                                                                     \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_FROM, __VA_ARGS__))            \
    /* Every field was found (at() throws otherwise), so more keys means unknown ones. */ \
    constexpr std::size_t latchkey_fields =                                               \
        0 NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(LATCHKEY_JSON_COUNT, __VA_ARGS__));    \
    if (nlohmann_json_j.size() != latchkey_fields) {                                      \
      throw nlohmann::detail::other_error::create(501, #Type " has an unknown field",     \
                                                  &nlohmann_json_j);                      \
    }                                                                                     \
  }
