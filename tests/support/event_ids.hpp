// What a version-7 event id minted at a given time starts with.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace latchkey::testing {

// "tttttttt-tttt-7": the Unix milliseconds of `recorded_at_us` in hex, then
// the version digit.
inline std::string uuid_v7_prefix(std::int64_t recorded_at_us) {
  const auto ms = static_cast<unsigned long long>(recorded_at_us / 1000);
  char text[32];
  std::snprintf(text, sizeof text, "%08llx-%04llx-7", ms >> 16, ms & 0xffff);
  return text;
}

}  // namespace latchkey::testing
