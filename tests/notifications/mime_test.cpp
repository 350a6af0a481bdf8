// Email formatting and SMTP transparency (RFC 5321, 5322, 2045, 2047).
#include <gtest/gtest.h>

#include "latchkey/notifications/mime.hpp"
#include "latchkey/notifications/transports.hpp"

namespace latchkey::notifications {
namespace {

std::string unbase64(std::string_view in) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    buffer = (buffer << 6) | static_cast<unsigned>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// Decodes what encode_header_text made, checking each word's shape.
std::string decode_words(const std::string& header) {
  std::string out;
  std::size_t at = 0;
  while (at < header.size()) {
    auto start = header.find("=?UTF-8?B?", at);
    if (start == std::string::npos) break;
    auto end = header.find("?=", start + 10);
    EXPECT_NE(end, std::string::npos);
    EXPECT_LE(end + 2 - start, 75u) << "an encoded word longer than 75 characters";
    std::string chunk = unbase64(header.substr(start + 10, end - start - 10));
    // Every chunk is whole UTF-8: it does not start with a continuation byte.
    if (!chunk.empty()) {
      EXPECT_NE(static_cast<unsigned char>(chunk[0]) & 0xc0, 0x80u);
    }
    out += chunk;
    at = end + 2;
  }
  return out;
}

std::string unquote_printable(const std::string& qp) {
  std::string out;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;  // soft break
    } else if (qp[i] == '=') {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (qp[i] == '\r' && i + 1 < qp.size() && qp[i + 1] == '\n') {
      out += '\n';
      ++i;
    } else {
      out += qp[i];
    }
  }
  return out;
}

TEST(Mime, AsciiHeadersStayAsTheyAre) {
  EXPECT_EQ(encode_header_text("Reset your Sunny Days portal password"), "Reset your Sunny Days portal password");
}

TEST(Mime, Utf8HeadersBecomeEncodedWordsOnCharacterBoundaries) {
  for (const std::string& text : {std::string("Crèche"), std::string("Réinitialiser — ") + std::string(30, 'x') + "☀☀☀☀☀☀☀☀☀☀☀☀☀☀☀☀",
                                 std::string(40, 'a') + "😀😀😀😀😀😀😀😀😀😀"}) {
    auto encoded = encode_header_text(text);
    EXPECT_EQ(decode_words(encoded), text) << encoded;
    for (char c : encoded) EXPECT_TRUE(static_cast<unsigned char>(c) < 0x80);
  }
}

TEST(Mime, QuotedPrintableRoundTripsWithShortLines) {
  const std::string text = "Hi Zoë,\n\nA line with = signs and a trailing space \n" + std::string(300, 'y') +
                           "\n\ttabbed\nlast line without newline";
  auto qp = quoted_printable(text);
  std::size_t line_start = 0;
  for (std::size_t i = 0; i + 1 < qp.size(); ++i) {
    if (qp[i] == '\r') {
      EXPECT_EQ(qp[i + 1], '\n');
      EXPECT_LE(i - line_start, 76u);
      line_start = i + 2;
    }
  }
  EXPECT_EQ(qp.find(" \r\n"), std::string::npos) << "trailing whitespace must be encoded";
  EXPECT_EQ(unquote_printable(qp), text + "\n");
}

TEST(Mime, DotStuffingAndTheEndOfData) {
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\n.\r\n"), "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".first"), "..first\r\n.\r\n");
}

TEST(Mime, DatesAreRfc5322) {
  EXPECT_EQ(rfc5322_date(1'795'446'245'000'000), "Mon, 23 Nov 2026 15:04:05 +0000");
}

TEST(Mime, ComposedEmailCarriesItsIdForDeduplication) {
  domain::OutboxMessage m;
  m.id = "m-123";
  m.sender_name = "Sunny \"Days\" Crèche";
  m.to = "ana@example.com";
  m.subject = "Reset your password";
  m.body = "Hi\n.leading dot\n";
  auto text = compose_email(m, Sender{"no-reply@sunny.example", "sunny.example"}, 1'795'446'245'000'000);
  EXPECT_NE(text.find("\r\nMessage-ID: <m-123@sunny.example>\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\nX-Latchkey-Message-Id: m-123\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nTo: <ana@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nDate: Mon, 23 Nov 2026 15:04:05 +0000\r\n"), std::string::npos);
  EXPECT_EQ(text.rfind("From: =?UTF-8?B?", 0), 0u) << "a non-ASCII display name is encoded";
  EXPECT_EQ(decode_words(text.substr(0, text.find('<'))), "Sunny Days Crèche");
  EXPECT_NE(text.find("Content-Transfer-Encoding: quoted-printable\r\n\r\nHi\r\n.leading dot\r\n"), std::string::npos);
  EXPECT_NE(dot_stuff(text).find("\r\n..leading dot\r\n"), std::string::npos);
}

TEST(Mime, UnsafeAddressesAreRefused) {
  EXPECT_TRUE(is_safe_address("ana@example.com"));
  for (const char* bad : {"", "a b@example.com", "a@example.com>\r\nRCPT TO:<x@y", "a@b\n", "<a@b>", "a,b@c"}) {
    EXPECT_FALSE(is_safe_address(bad)) << bad;
  }
}

TEST(Transports, UrlsParse) {
  auto u = parse_url("https://sms.example.org/hooks/send?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "sms.example.org");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/hooks/send?x=1");
  auto s = parse_url("smtp://127.0.0.1:2525");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->port, 2525);
  EXPECT_EQ(s->target, "/");
  auto v6 = parse_url("http://[::1]:8080/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"nope", "http://", "http://host:0/", "http://host:99999/", "http://user:pw@host/",
                          "http://host:80x/", "http://host/a b"}) {
    EXPECT_FALSE(parse_url(bad).ok()) << bad;
  }
  EXPECT_FALSE(open_transport(TransportSpec{"ftp://x"}).ok());
  EXPECT_FALSE(open_transport(TransportSpec{"smtp://host:25/path"}).ok());
  EXPECT_FALSE(open_transport(TransportSpec{"file:"}).ok());
}

}  // namespace
}  // namespace latchkey::notifications
