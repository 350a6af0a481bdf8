#include <fcntl.h>
#include <unistd.h>

#include "latchkey/domain/encoding.hpp"
#include "latchkey/notifications/dispatcher.hpp"

namespace latchkey::notifications {
namespace {

class FileTransport final : public Transport {
 public:
  explicit FileTransport(int fd) : fd_(fd) {}
  ~FileTransport() override { ::close(fd_); }

  Result<void> deliver(const domain::OutboxMessage& m, domain::Micros now_us) override {
    return append(line(m, now_us));
  }

  // The whole batch in one write and one sync.
  std::vector<Result<void>> deliver_batch(std::span<const domain::OutboxMessage* const> messages,
                                          domain::Micros now_us) override {
    std::string text;
    for (const auto* m : messages) text += line(*m, now_us);
    auto r = append(text);
    if (!r.ok()) return {r};  // the first one failed; the rest wait for the next pass
    return std::vector<Result<void>>(messages.size());
  }
  std::size_t max_batch() const override { return kMaxBatch; }

 private:
  static std::string line(const domain::OutboxMessage& m, domain::Micros now_us) {
    return domain::outbox_file_line(m, now_us);
  }

  // One write of whole lines to a file opened O_APPEND, then synced: a
  // reader never sees half a message, and a delivered one survives a crash.
  Result<void> append(const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
      ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0) return make_error("delivery_failed", "cannot write the outbox file");
      done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) return make_error("delivery_failed", "cannot sync the outbox file");
    return {};
  }

  // A page of the outbox: a crash between the sync and the record re-writes
  // at most this many lines, each with its message id.
  static constexpr std::size_t kMaxBatch = 100;
  int fd_;
};

}  // namespace

Result<std::unique_ptr<Transport>> open_file_transport(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot_open_transport", "cannot open " + path + " for appending");
  return std::unique_ptr<Transport>(std::make_unique<FileTransport>(fd));
}

}  // namespace latchkey::notifications
