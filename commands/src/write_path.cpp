#include "write_path.hpp"

#include <algorithm>

namespace latchkey::commands {

Error corrupt_stream(std::string_view stream, const Error& cause) {
  return make_error(eventstore::kCorruption,
                    "stream " + std::string(stream) + " holds an event that does not decode: " +
                        cause.message);
}

Error not_found(std::string_view what) {
  return make_error(refusal::kNotFound, std::string(what) + " not found");
}

void Transaction::append(const std::string& stream, eventstore::ExpectedVersion expected,
                         domain::DomainEvent event) {
  for (auto& s : streams_) {
    if (s.id == stream) {
      s.events.push_back(std::move(event));
      return;
    }
  }
  streams_.push_back(Stream{stream, expected, {}});
  streams_.back().events.push_back(std::move(event));
}

eventstore::AppendRequest Transaction::build(const CommandContext& ctx, Ports& ports) const {
  eventstore::AppendRequest request;
  const domain::Micros now = ports.clock.now_us();
  for (const auto& s : streams_) {
    eventstore::StreamWrite write{s.id, s.expected, {}};
    for (const auto& e : s.events) {
      eventstore::EventData data;
      data.event_id = ports.random.uuid_v7(now);
      data.type = std::string(domain::event_type(e));
      data.schema_version = domain::kSchemaVersion;
      data.recorded_at_us = now;
      data.tenant = ctx.tenant;
      data.actor = ctx.actor;
      data.correlation_id = ctx.correlation_id;
      data.causation_id = ctx.causation_id;
      data.source_ip = ctx.source_ip;
      data.payload = domain::encode_payload(e);
      write.events.push_back(std::move(data));
    }
    request.streams.push_back(std::move(write));
  }
  for (const auto& m : messages_) {
    request.outbox.push_back({m.id, domain::encode_outbox_message(m)});
  }
  return request;
}

Result<eventstore::AppendResult> commit(WriteModels& models, const CommandContext& ctx, Ports& ports,
                                        const Transaction& tx) {
  auto request = tx.build(ctx, ports);
  // The events each stream is about to receive, decoded from the bytes that
  // will be stored, for the cached write models to fold after the append.
  struct Written {
    std::string stream;
    std::size_t index = 0;  // in the request, and in the result's stream_versions
    std::uint64_t from = 0;
    std::vector<domain::DomainEvent> events;
    domain::Micros recorded_at_us = 0;
  };
  std::vector<Written> written;
  for (std::size_t i = 0; i < request.streams.size(); ++i) {
    const auto& write = request.streams[i];
    if (write.expected.is_any() || write.expected.version() == 0) continue;
    Written w{write.stream_id, i, write.expected.version(), {}, write.events.front().recorded_at_us};
    bool decoded = true;
    for (const auto& data : write.events) {
      auto event = domain::decode_event(data.type, data.schema_version, data.payload);
      if (!event) {
        decoded = false;
        break;
      }
      w.events.push_back(std::move(*event));
    }
    if (decoded) written.push_back(std::move(w));
  }
  auto result = ctx.durable_at != nullptr ? models.store().append_written(std::move(request))
                                          : models.store().append(std::move(request));
  if (result && ctx.durable_at != nullptr) {
    *ctx.durable_at = std::max(*ctx.durable_at, result->last_position);
  }
  if (!result || result->duplicate) return result;
  for (auto& w : written) {
    if (w.index >= result->stream_versions.size()) continue;
    models.advance(w.stream, w.from, result->stream_versions[w.index], std::move(w.events),
                   w.recorded_at_us);
  }
  return result;
}

domain::MessageContext message_context(const CommandContext& ctx, Ports& ports,
                                       const domain::TenantState& tenant,
                                       const domain::GuardianState& guardian) {
  domain::MessageContext m;
  m.message_id = ports.random.id();
  m.tenant_id = ctx.tenant;
  m.tenant_name = tenant.name;
  m.portal_url = tenant.settings.portal_url;
  m.guardian_id = guardian.id;
  m.now_us = ports.clock.now_us();
  m.first_name = guardian.first_name;
  m.last_name = guardian.last_name;
  m.templates = &tenant.settings.templates;
  return m;
}

}  // namespace latchkey::commands
