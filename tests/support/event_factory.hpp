// Builds events for store tests: unique ids, plausible envelopes.
#pragma once

#include <unistd.h>

#include <atomic>
#include <string>

#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::testing {

inline std::string unique_event_id() {
  static std::atomic<std::uint64_t> counter{0};
  return "evt-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1) + 1);
}

inline eventstore::EventData make_event(std::string type = "GuardianAdded",
                                        std::string payload = R"({"first_name":"Ada"})") {
  eventstore::EventData e;
  e.event_id = unique_event_id();
  e.type = std::move(type);
  e.schema_version = 1;
  e.recorded_at_us = 1'700'000'000'000'000;
  e.tenant = "sunny-days";
  e.actor = {"staff", "key-1", "Front Desk"};
  e.correlation_id = "corr-1";
  e.causation_id = "";
  e.source_ip = "127.0.0.1";
  e.payload = std::move(payload);
  return e;
}

inline eventstore::AppendRequest one_stream(std::string stream, eventstore::ExpectedVersion expected,
                                            std::vector<eventstore::EventData> events) {
  eventstore::AppendRequest r;
  r.streams.push_back({std::move(stream), expected, std::move(events)});
  return r;
}

}  // namespace latchkey::testing
