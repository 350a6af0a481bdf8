// The ways a message leaves Latchkey (SPEC §7): file:PATH, smtp://host:port
// for email, http(s)://… (a JSON webhook) for SMS.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "latchkey/notifications/dispatcher.hpp"
#include "latchkey/notifications/mime.hpp"

namespace latchkey::notifications {

// Error codes a transport answers with. A rejected message will never be
// accepted (an unknown mailbox, a 4xx from the gateway): it is given up at
// once. A failed one is retried with backoff.
inline constexpr const char* kDeliveryFailed = "delivery_failed";
inline constexpr const char* kDeliveryRejected = "delivery_rejected";

struct SmtpOptions {
  std::string host;
  std::uint16_t port = 25;
  Sender sender{"no-reply@localhost", "localhost"};
  std::string helo_name = "localhost";
  std::chrono::milliseconds timeout{10'000};  // per step
};
Result<std::unique_ptr<Transport>> open_smtp_transport(SmtpOptions options);

// POSTs {"to","body","message_id"} to `url` (http:// or https://; https
// verifies the server's certificate against the system's CAs, or `ca_file`).
// The message id is also sent as Idempotency-Key and X-Latchkey-Message-Id.
struct WebhookOptions {
  std::string url;
  std::string ca_file;  // PEM; empty: the system's trusted CAs
  std::chrono::milliseconds timeout{10'000};  // for the whole exchange
};
Result<std::unique_ptr<Transport>> open_webhook_transport(WebhookOptions options);

// One of "file:PATH", "smtp://host:port", "http://…", "https://…". SMTP
// takes its sender from `sender`; a webhook its CA file from `ca_file`.
struct TransportSpec {
  std::string target;
  Sender sender{"no-reply@localhost", "localhost"};
  std::string ca_file;
  std::chrono::milliseconds timeout{10'000};
};
Result<std::unique_ptr<Transport>> open_transport(const TransportSpec& spec);

// Splits "scheme://host[:port][/path]"; the port defaults by scheme.
struct ParsedUrl {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";
};
Result<ParsedUrl> parse_url(const std::string& url);

}  // namespace latchkey::notifications
