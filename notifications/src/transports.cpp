#include "latchkey/notifications/transports.hpp"

#include <algorithm>
#include <charconv>

namespace latchkey::notifications {

Result<ParsedUrl> parse_url(const std::string& url) {
  auto bad = [&] { return make_error("cannot_open_transport", "not a URL like scheme://host:port/path: " + url); };
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return bad();
  ParsedUrl out;
  out.scheme = url.substr(0, scheme_end);
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.target = rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    return make_error("cannot_open_transport", "credentials in a transport URL are not supported");
  }
  std::string port;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return bad();
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad();
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad();
  if (port.empty()) {
    out.port = out.scheme == "https" ? 443 : out.scheme == "smtp" ? 25 : 80;
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return bad();
    out.port = static_cast<std::uint16_t>(value);
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad();
  }
  return out;
}

Result<std::unique_ptr<Transport>> open_transport(const TransportSpec& spec) {
  const std::string& t = spec.target;
  if (t.rfind("file:", 0) == 0) {
    if (t.size() == 5) return make_error("cannot_open_transport", "file: needs a path");
    return open_file_transport(t.substr(5));
  }
  if (t.rfind("smtp://", 0) == 0) {
    auto url = parse_url(t);
    if (!url.ok()) return url.error();
    if (url->target != "/") return make_error("cannot_open_transport", "an smtp:// URL has no path");
    SmtpOptions options;
    options.host = url->host;
    options.port = url->port;
    options.sender = spec.sender;
    options.timeout = spec.timeout;
    return open_smtp_transport(std::move(options));
  }
  if (t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0) {
    return open_webhook_transport(WebhookOptions{t, spec.ca_file, spec.timeout});
  }
  return make_error("cannot_open_transport", "a transport is file:PATH, smtp://host:port or http(s)://url");
}

}  // namespace latchkey::notifications
