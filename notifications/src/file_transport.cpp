#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/notifications/dispatcher.hpp"

namespace latchkey::notifications {
namespace {

class FileTransport final : public Transport {
 public:
  explicit FileTransport(int fd) : fd_(fd) {}
  ~FileTransport() override { ::close(fd_); }

  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros now_us) override {
    nlohmann::json line = {{"id", m.id},           {"tenant", m.tenant}, {"channel", m.channel},
                           {"to", m.to},           {"subject", m.subject}, {"body", m.body},
                           {"sent_at", domain::format_time(now_us)}};
    std::string text = line.dump() + "\n";
    // One write of the whole line to a file opened O_APPEND, then synced: a
    // reader never sees half a message, and a delivered one survives a crash.
    for (std::size_t done = 0; done < text.size();) {
      ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0) return make_error("delivery_failed", "cannot write the outbox file");
      done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) return make_error("delivery_failed", "cannot sync the outbox file");
    return {};
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<Transport>> open_file_transport(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot_open_transport", "cannot open " + path + " for appending");
  return std::unique_ptr<Transport>(std::make_unique<FileTransport>(fd));
}

}  // namespace latchkey::notifications
