// Stream ids: one stream per aggregate instance. ':' never occurs in a tenant
// id, a generated id or a child id, so the names cannot collide.
#pragma once

#include <string>
#include <string_view>

#include "latchkey/domain/validation.hpp"

namespace latchkey::domain::streams {

inline const std::string kPlatform = "platform";
inline std::string tenant(std::string_view t) { return "tenant:" + std::string(t); }
inline std::string family(std::string_view t, std::string_view f) {
  return "family:" + std::string(t) + ":" + std::string(f);
}
inline std::string guardian(std::string_view t, std::string_view g) {
  return "guardian:" + std::string(t) + ":" + std::string(g);
}
inline std::string child(std::string_view t, std::string_view c) {
  return "child:" + std::string(t) + ":" + std::string(c);
}
// The registry entry of one login ID (or email), case-insensitively.
inline std::string login(std::string_view t, std::string_view login_id) {
  return "login:" + std::string(t) + ":" + login_key(login_id);
}

}  // namespace latchkey::domain::streams
