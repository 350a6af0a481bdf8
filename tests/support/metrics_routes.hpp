// The routes a latchkeyd serves, read from its /metrics text: the latency
// histogram names every route, requested or not. Shared by the end-to-end
// tests and the fuzz targets (which have no server process to ask).
#pragma once

#include <set>
#include <sstream>
#include <string>
#include <utility>

namespace latchkey::testing {

inline std::set<std::pair<std::string, std::string>> routes_in_metrics(const std::string& metrics) {
  const std::string prefix = "latchkey_http_request_duration_seconds_count{method=\"";
  std::set<std::pair<std::string, std::string>> routes;
  std::stringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const auto method_end = line.find('"', prefix.size());
    const auto route_start = line.find("route=\"", method_end) + 7;
    const auto route_end = line.find('"', route_start);
    routes.insert({line.substr(prefix.size(), method_end - prefix.size()),
                   line.substr(route_start, route_end - route_start)});
  }
  return routes;
}

}  // namespace latchkey::testing
