#include "request_body.hpp"

#include "latchkey/domain/encoding.hpp"

namespace latchkey::app {

Error invalid_field(std::string_view field, std::string message) {
  return make_error("invalid_input", std::move(message), std::string(field));
}

namespace {

// Nesting depth of JSON text, counted outside strings; stops early past the
// limit so that a hostile body never reaches the recursive parser.
bool nesting_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

Result<nlohmann::json> parse_body(std::string_view text, bool empty_ok) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (empty_ok) return nlohmann::json::object();
    return make_error("invalid_json", "the request needs a JSON object body");
  }
  if (!nesting_within(text, kMaxJsonDepth)) {
    return make_error("invalid_json", "the JSON is nested deeper than 32 levels");
  }
  // nlohmann's lexer refuses ill-formed UTF-8 inside strings.
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return make_error("invalid_json", "the body is not valid JSON (or not valid UTF-8)");
  }
  if (!parsed.is_object()) return make_error("invalid_json", "the body must be a JSON object");
  return parsed;
}

const nlohmann::json* Fields::find(std::string_view name, bool required) {
  read_.emplace(name);
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) {
    if (required) fail(name, std::string(name) + " is required");
    return nullptr;
  }
  return &*it;
}

void Fields::fail(std::string_view name, std::string message) {
  if (!error_) error_ = invalid_field(name, std::move(message));
}

std::optional<std::string> Fields::optional_string(std::string_view name, std::size_t max_bytes) {
  const auto* v = find(name, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail(name, std::string(name) + " must be a string");
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    fail(name, std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  if (!domain::is_clean_utf8(s)) {
    fail(name, std::string(name) + " holds control characters");
    return std::nullopt;
  }
  return s;
}

std::string Fields::string(std::string_view name, std::size_t max_bytes) {
  if (find(name, true) == nullptr) return {};
  return optional_string(name, max_bytes).value_or("");
}

std::optional<std::int64_t> Fields::optional_integer(std::string_view name) {
  const auto* v = find(name, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    fail(name, std::string(name) + " must be an integer");
    return std::nullopt;
  }
  return v->get<std::int64_t>();
}

std::int64_t Fields::integer(std::string_view name) {
  if (find(name, true) == nullptr) return 0;
  return optional_integer(name).value_or(0);
}

std::optional<bool> Fields::optional_boolean(std::string_view name) {
  const auto* v = find(name, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    fail(name, std::string(name) + " must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

bool Fields::boolean(std::string_view name) {
  if (find(name, true) == nullptr) return false;
  return optional_boolean(name).value_or(false);
}

std::vector<std::string> Fields::strings(std::string_view name, std::size_t max_items) {
  std::vector<std::string> out;
  const auto* v = find(name, true);
  if (v == nullptr) return out;
  if (!v->is_array()) {
    fail(name, std::string(name) + " must be an array of strings");
    return out;
  }
  if (v->size() > max_items) {
    fail(name, std::string(name) + " holds more than " + std::to_string(max_items) + " items");
    return out;
  }
  for (const auto& item : *v) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > kMaxStringBytes) {
      fail(name, std::string(name) + " must be an array of short strings");
      return {};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<const nlohmann::json*> Fields::objects(std::string_view name, std::size_t max_items,
                                                   bool required) {
  std::vector<const nlohmann::json*> out;
  const auto* v = find(name, required);
  if (v == nullptr) return out;
  if (!v->is_array() || v->size() > max_items) {
    fail(name, std::string(name) + " must be an array of at most " + std::to_string(max_items) +
                   " objects");
    return out;
  }
  for (const auto& item : *v) {
    if (!item.is_object()) {
      fail(name, std::string(name) + " must be an array of objects");
      return {};
    }
    out.push_back(&item);
  }
  return out;
}

std::optional<Error> Fields::finish(std::string_view prefix) {
  if (error_) {
    Error e = *error_;
    e.field = std::string(prefix) + e.field;
    return e;
  }
  for (const auto& [key, value] : object_.items()) {
    if (!read_.contains(key)) {
      const std::string name = std::string(prefix) + key.substr(0, 100);  // the client's text: bounded
      return invalid_field(name, "unknown field " + name);
    }
  }
  return std::nullopt;
}

}  // namespace latchkey::app
