// An event as a line of the audit log (SPEC §5): when, who, did what, to
// whom, from where.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "latchkey/domain/events.hpp"
#include "latchkey/eventstore/event_store.hpp"

namespace latchkey::projections {

struct AuditLine {
  std::string subject;  // the id the event is about; empty: the tenant
  std::string summary;
};
AuditLine describe(const domain::DomainEvent& event);
// describe(event).subject, without composing the summary.
std::string audit_subject(const domain::DomainEvent& event);

// {"position","at","tenant","actor":{"kind","id","name"},"type","subject",
//  "summary","source_ip","correlation_id"}
nlohmann::json audit_entry(const eventstore::RecordedEvent& recorded, const domain::DomainEvent& event);

}  // namespace latchkey::projections
