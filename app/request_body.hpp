// Strict decoding of JSON request bodies (SPEC §6, §8): malformed JSON, bad
// UTF-8, nesting deeper than 32, wrong types, missing and unknown fields are
// each refused with a 400 that names the field, before anything runs.
//
//   auto body = Body::parse(request.body);
//   if (!body) return body.error();
//   Fields f(*body);
//   auto login = f.string("login");
//   auto note = f.optional_string("note");
//   if (auto e = f.finish()) return *e;   // the first problem, or unknown fields
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "latchkey/result.hpp"

namespace latchkey::app {

inline constexpr std::size_t kMaxJsonDepth = 32;
inline constexpr std::size_t kMaxStringBytes = 1024;

// Parses a request body that must be one JSON object. An empty body is an
// empty object when `empty_ok`.
Result<nlohmann::json> parse_body(std::string_view text, bool empty_ok = false);

// Reads named fields of a JSON object, remembering the first problem.
class Fields {
 public:
  explicit Fields(const nlohmann::json& object) : object_(object) {}

  std::string string(std::string_view name, std::size_t max_bytes = kMaxStringBytes);
  std::optional<std::string> optional_string(std::string_view name,
                                             std::size_t max_bytes = kMaxStringBytes);
  std::int64_t integer(std::string_view name);
  std::optional<std::int64_t> optional_integer(std::string_view name);
  bool boolean(std::string_view name);
  std::optional<bool> optional_boolean(std::string_view name);
  // An array of strings (at most max_items).
  std::vector<std::string> strings(std::string_view name, std::size_t max_items);
  // An array of objects (at most max_items); each is read with its own Fields.
  std::vector<const nlohmann::json*> objects(std::string_view name, std::size_t max_items,
                                             bool required = true);

  // The first problem met, else any field that was never read (unknown),
  // with `prefix` before the field name ("guardians[1].").
  std::optional<Error> finish(std::string_view prefix = {});

 private:
  const nlohmann::json* find(std::string_view name, bool required);
  void fail(std::string_view name, std::string message);

  const nlohmann::json& object_;
  std::set<std::string, std::less<>> read_;
  std::optional<Error> error_;
};

// 400 invalid_input naming `field`.
Error invalid_field(std::string_view field, std::string message);

}  // namespace latchkey::app
