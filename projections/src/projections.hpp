// The projections of SPEC §5 (one class per file in this directory).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "latchkey/projections/projection.hpp"

namespace latchkey::projections {

std::unique_ptr<Projection> make_login_state_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_tenants_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_directory_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_session_index_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_policy_acceptances_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_audit_log_projection(ReadModelDb& db);
std::unique_ptr<Projection> make_sms_credits_projection(ReadModelDb& db);

// "guardian:{tenant}:{id}" → "{id}"; empty when the stream is not of that kind.
std::string_view stream_subject(std::string_view stream_id, std::string_view kind);

}  // namespace latchkey::projections
