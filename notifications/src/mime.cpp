#include "latchkey/notifications/mime.hpp"

#include <algorithm>
#include <ctime>

namespace latchkey::notifications {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHex[] = "0123456789ABCDEF";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i < in.size()) {
    const bool two = i + 1 < in.size();
    const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                   (two ? static_cast<unsigned char>(in[i + 1]) << 8 : 0);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += two ? kBase64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool is_plain_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f;
  });
}

// Length of the UTF-8 sequence starting with byte c (1 for stray bytes).
std::size_t utf8_length(unsigned char c) {
  if (c >= 0xf0) return 4;
  if (c >= 0xe0) return 3;
  if (c >= 0xc0) return 2;
  return 1;
}

}  // namespace

std::string encode_header_text(std::string_view utf8) {
  if (is_plain_ascii(utf8)) return std::string(utf8);
  // "=?UTF-8?B?" + base64 + "?=" within 75 characters leaves 63 base64
  // characters, 45 bytes of text (RFC 2047 §2); chunks end on characters.
  constexpr std::size_t kMaxChunk = 45;
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = i;
    while (end < utf8.size()) {
      const std::size_t len = std::min(utf8_length(static_cast<unsigned char>(utf8[end])), utf8.size() - end);
      if (end + len - i > kMaxChunk) break;
      end += len;
    }
    if (end == i) end = std::min(utf8.size(), i + kMaxChunk);
    if (!out.empty()) out += "\r\n ";  // folded: encoded words are separated by folding whitespace
    out += "=?UTF-8?B?" + base64(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::string line;
  auto flush_line = [&](bool hard_break) {
    out += line;
    out += hard_break ? "\r\n" : "=\r\n";
    line.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      // Trailing whitespace before a line break must be encoded (RFC 2045).
      if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
        const char last = line.back();
        line.pop_back();
        line += '=';
        line += kHex[static_cast<unsigned char>(last) >> 4];
        line += kHex[static_cast<unsigned char>(last) & 15];
      }
      flush_line(true);
      continue;
    }
    std::string piece;
    if ((c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t') {
      piece = static_cast<char>(c);
    } else {
      piece = {'=', kHex[c >> 4], kHex[c & 15]};
    }
    // 75 characters leave room for the soft break '='.
    if (line.size() + piece.size() > 75) flush_line(false);
    line += piece;
  }
  if (!line.empty()) {
    if (line.back() == ' ' || line.back() == '\t') line += "=\r\n";  // keep the space, then a soft break
    out += line;
    if (!out.ends_with("\r\n")) out += "\r\n";
  }
  return out;
}

std::string rfc5322_date(domain::Micros at_us) {
  const std::time_t seconds = static_cast<std::time_t>(at_us / domain::kMicrosPerSecond);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool is_safe_address(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  return std::none_of(address.begin(), address.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' ||
           c == ',' || c == ';' || c == '\\';
  });
}

std::string compose_email(const domain::OutboxMessage& m, const Sender& sender,
                          domain::Micros now_us) {
  // A display name in quotes unless it needs encoding; quotes and
  // backslashes cannot survive inside a quoted string unescaped.
  std::string name = m.sender_name;
  std::erase_if(name, [](char c) { return c == '"' || c == '\\' || c == '\r' || c == '\n'; });
  std::string from = name.empty() ? "<" + sender.address + ">"
                     : is_plain_ascii(name) ? "\"" + name + "\" <" + sender.address + ">"
                                            : encode_header_text(name) + " <" + sender.address + ">";
  std::string out;
  out += "From: " + from + "\r\n";
  out += "To: <" + m.to + ">\r\n";
  out += "Subject: " + encode_header_text(m.subject) + "\r\n";
  out += "Date: " + rfc5322_date(now_us) + "\r\n";
  out += "Message-ID: <" + m.id + "@" + sender.domain + ">\r\n";
  out += "X-Latchkey-Message-Id: " + m.id + "\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "\r\n";
  out += quoted_printable(m.body);
  return out;
}

std::string dot_stuff(std::string_view crlf_text) {
  std::string out;
  out.reserve(crlf_text.size() + 16);
  bool line_start = true;
  for (char c : crlf_text) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace latchkey::notifications
