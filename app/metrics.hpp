// Request metrics for /metrics (Prometheus text format 0.0.4): requests by
// route and status, and a latency histogram per route. Lock-free on the
// request path (atomics only); routes are registered once at start-up.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace latchkey::app {

class RequestMetrics {
 public:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  // Returns the route's index for record(). Not thread-safe: call before serving.
  std::size_t add_route(std::string method, std::string pattern);
  void record(std::size_t route, int status, double seconds);
  // The families latchkey_http_requests_total and latchkey_http_request_duration_seconds.
  void render(std::string& out) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::array<std::atomic<std::uint64_t>, 500> by_status{};  // index status - 100
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> micros_total{0};
  };
  std::vector<std::unique_ptr<Route>> routes_;
};

// One line of Prometheus text: name{labels} value.
void metric_line(std::string& out, std::string_view name, std::string_view labels, double value);

}  // namespace latchkey::app
