// libFuzzer: the JSON decoding of every command, through the real API. The
// first byte picks a route, the second a credential (none, platform, each
// role, a guardian session); the rest is the request body. Every answer
// must be a well-formed status: 5xx only for overload, never a crash.
#include <cstddef>
#include <cstdint>

#include "tenant_setup.hpp"

namespace {
latchkey::fuzz::AppHarness* app = nullptr;
latchkey::fuzz::FuzzTenant* tenant = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  app = new latchkey::fuzz::AppHarness();
  tenant = new latchkey::fuzz::FuzzTenant(*app);
  if (tenant->routes.size() < 20) __builtin_trap();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto& [method, pattern] = tenant->routes[data[0] % tenant->routes.size()];
  const auto& credential = tenant->credentials[data[1] % tenant->credentials.size()];
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  auto answer = app->call(method, tenant->target(pattern), credential, body);
  if (answer.status < 200 || answer.status > 599) __builtin_trap();
  if (answer.status >= 500 && answer.status != 503) __builtin_trap();
  return 0;
}
