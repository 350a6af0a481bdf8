#include "metrics.hpp"

#include <cstdio>

namespace latchkey::app {

std::size_t RequestMetrics::add_route(std::string method, std::string pattern) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  routes_.push_back(std::move(route));
  return routes_.size() - 1;
}

void RequestMetrics::record(std::size_t route, int status, double seconds) {
  if (route >= routes_.size()) return;
  Route& r = *routes_[route];
  if (status >= 100 && status < 600) r.by_status[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  r.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  r.micros_total.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void metric_line(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.17g\n", value);
  out += buf;
}

void RequestMetrics::render(std::string& out) const {
  out += "# HELP latchkey_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE latchkey_http_requests_total counter\n";
  for (const auto& r : routes_) {
    for (std::size_t i = 0; i < r->by_status.size(); ++i) {
      auto n = r->by_status[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      metric_line(out, "latchkey_http_requests_total",
                  "method=\"" + r->method + "\",route=\"" + r->pattern + "\",status=\"" +
                      std::to_string(i + 100) + "\"",
                  static_cast<double>(n));
    }
  }
  out += "# HELP latchkey_http_request_duration_seconds Time from request read to answer, by route.\n";
  out += "# TYPE latchkey_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    std::uint64_t cumulative = 0;
    const std::string labels = "method=\"" + r->method + "\",route=\"" + r->pattern + "\"";
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += r->buckets[b].load(std::memory_order_relaxed);
      char le[32];
      if (b < kBuckets.size()) {
        std::snprintf(le, sizeof le, "%g", kBuckets[b]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      metric_line(out, "latchkey_http_request_duration_seconds_bucket",
                  labels + ",le=\"" + le + "\"", static_cast<double>(cumulative));
    }
    metric_line(out, "latchkey_http_request_duration_seconds_sum", labels,
                static_cast<double>(r->micros_total.load(std::memory_order_relaxed)) / 1e6);
    metric_line(out, "latchkey_http_request_duration_seconds_count", labels,
                static_cast<double>(cumulative));
  }
}

}  // namespace latchkey::app
