// Internet Message Format for outgoing email (RFC 5322, RFC 2045–2047) and
// SMTP's DATA transparency (RFC 5321 §4.5.2). Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "latchkey/domain/messages.hpp"

namespace latchkey::notifications {

// A header value as RFC 2047 encoded words ("=?UTF-8?B?…?=", each at most 75
// characters, split on character boundaries) when it holds anything but
// printable ASCII; unchanged otherwise.
std::string encode_header_text(std::string_view utf8);

// Quoted-printable (RFC 2045 §6.7) of text whose lines end in "\n"; output
// lines end in CRLF and are at most 76 characters.
std::string quoted_printable(std::string_view text);

// "Mon, 23 Nov 2026 15:04:05 +0000".
std::string rfc5322_date(domain::Micros at_us);

// Where mail comes from: "Sunny Days <no-reply@example.org>".
struct Sender {
  std::string address;  // the envelope and From address
  std::string domain;   // right of the '@', for Message-ID
};

// The whole message (headers, blank line, body), CRLF line endings, ready
// for dot-stuffing. The message id travels as Message-ID and as
// X-Latchkey-Message-Id so a receiver can deduplicate a re-send.
std::string compose_email(const domain::OutboxMessage& message, const Sender& sender,
                          domain::Micros now_us);

// DATA transparency: a line starting with '.' gets another; the result ends
// with the terminating "\r\n.\r\n".
std::string dot_stuff(std::string_view crlf_text);

// Whether an address is safe to put between angle brackets in an SMTP
// command and a header: no spaces, controls, angle brackets or CR/LF.
bool is_safe_address(std::string_view address);

}  // namespace latchkey::notifications
