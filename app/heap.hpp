// The C heap's settings for a long-running server (glibc malloc).
#pragma once

namespace latchkey::app {

// Call once at start-up, before any thread starts. A no-op off glibc.
void configure_heap();

}  // namespace latchkey::app
