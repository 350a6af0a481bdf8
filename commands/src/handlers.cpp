#include "latchkey/commands/commands.hpp"

#include "common.hpp"

namespace latchkey::commands {

CommandHandlers::CommandHandlers(eventstore::EventStore& store, Ports ports)
    : store_(store), ports_(ports), models_(std::make_unique<WriteModels>(store)) {
  dummy_password_hash_ = ports_.passwords.hash(ports_.random.token(16));
}

CommandHandlers::~CommandHandlers() = default;

std::size_t CommandHandlers::cached_write_models() { return models_->size(); }

void CommandHandlers::burn_password_check(std::string_view secret) {
  (void)ports_.passwords.verify(dummy_password_hash_, secret);
}

}  // namespace latchkey::commands
