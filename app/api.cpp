// The plumbing of the API: routing, authentication, roles and tenants,
// idempotency, rate limits, worker pools, metrics and the access log. The
// routes themselves are in routes.cpp.
#include "api.hpp"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <thread>

#include "api_internal.hpp"
#include "heap.hpp"
#include "idempotency.hpp"
#include "latchkey/domain/encoding.hpp"
#include "latchkey/domain/validation.hpp"
#include "platform_key.hpp"
#include "rate_limiter.hpp"

namespace latchkey::app {

// ---- answers delivered later (the self-service floor) ------------------------

class DelayedAnswers {
 public:
  using Clock = std::chrono::steady_clock;
  DelayedAnswers()
      : thread_([this] {
          pthread_setname_np(pthread_self(), "lk-delayed");
          run();
        }) {}
  ~DelayedAnswers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void at(Clock::time_point when, std::function<void()> answer) {
    {
      std::lock_guard lock(mutex_);
      queue_.push({when, seq_++, std::move(answer)});
    }
    wake_.notify_all();
  }

 private:
  struct Item {
    Clock::time_point when;
    std::uint64_t seq;
    std::function<void()> answer;
    bool operator>(const Item& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (queue_.empty()) {
        if (stopping_) return;
        wake_.wait(lock);
        continue;
      }
      auto when = queue_.top().when;
      if (!stopping_ && Clock::now() < when) {
        wake_.wait_until(lock, when);
        continue;
      }
      auto answer = queue_.top().answer;
      queue_.pop();
      lock.unlock();
      answer();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

struct Api::Guards {
  Guards(const ApiOptions& o) : limiter(o.public_per_minute, o.public_burst) {}
  RateLimiter limiter;
  IdempotencyStore idempotency;
  DelayedAnswers delayed;
};

// ---- problems ---------------------------------------------------------------

int status_for(std::string_view code) {
  static const std::map<std::string, int, std::less<>> statuses = {
      {"invalid_input", 400},          {"invalid_setting", 400},
      {"invalid_json", 400},           {"token_invalid", 400},
      {"security_answer_required", 400}, {"reason_required", 400},
      {"unauthenticated", 401},        {"invalid_credentials", 401},
      {"session_invalid", 401},        {"invalid_api_key", 401},
      {"sms_credits_exhausted", 402},
      {"forbidden", 403},              {"password_change_required", 403},
      {"current_password_wrong", 403}, {"security_answer_wrong", 403},
      {"staff_cannot_set_password", 403},
      {"not_found", 404},              {"policy_unknown", 404},
      {"tenant_exists", 409},          {"email_taken", 409},
      {"child_exists", 409},           {"login_id_taken", 409},
      {"already_registered", 409},     {"sms_disabled", 409},
      {"no_email_on_file", 409},       {"no_phone_on_file", 409},
      {"login_not_allowed", 409},      {"account_reset_required", 409},
      {"policy_version_exists", 409},  {"already_accepted", 409},
      {"version_conflict", 409},       {"idempotency_in_progress", 409},
      {"token_expired", 410},          {"token_used", 410},
      {"token_superseded", 410},
      {"method_not_allowed", 405},     {"unsupported_media_type", 415},
      {"password_policy", 422},        {"idempotency_key_reused", 422},
      {"rate_limited", 429},
      {"overloaded", 503},             {"not_caught_up", 503},
  };
  auto it = statuses.find(code);
  return it == statuses.end() ? 500 : it->second;
}

http::Response problem_of(const Error& error) {
  const int status = status_for(error.code);
  nlohmann::json body = {{"type", "about:blank"},
                         {"status", status},
                         {"code", error.code},
                         {"title", status == 500 ? std::string("The server failed to answer.")
                                                 : error.message}};
  if (status == 500) {
    // Storage and internal errors: the details go to the log, not the client.
    spdlog::error("internal error {}: {}", error.code, error.message);
    body["code"] = "internal_error";
  }
  if (!error.field.empty()) body["field"] = error.field.substr(0, 100);
  if (error.code == "password_policy") body["unmet_rules"] = error.details;
  http::Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

http::Response json_response(int status, const nlohmann::json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// ---- requests ---------------------------------------------------------------

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space in a query). nullopt when malformed.
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 1;  // after the leading '/'
  while (i <= path.size()) {
    auto next = path.find('/', i);
    if (next == std::string_view::npos) next = path.size();
    out.push_back(path.substr(i, next - i));
    i = next + 1;
  }
  return out;
}

bool clean_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

const std::string& Api::Call::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  static const std::string empty;
  return empty;
}

const std::string* Api::Call::query_value(std::string_view name) const {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

// ---- the API ------------------------------------------------------------------

Api::Api(ApiDeps deps, ApiOptions options)
    : deps_(deps), options_(std::move(options)), guards_(std::make_unique<Guards>(options_)) {
  request_id_prefix_ = deps_.random.token(6) + "-";
  add_routes();
}

Api::~Api() {
  std::unique_lock lock(held_mutex_);
  held_done_.wait(lock, [this] { return held_answers_.load() == 0; });
  lock.unlock();
  answer_pool_.stop();
}

void Api::add(std::string method, std::string pattern, int access, int exec,
              std::function<http::Response(Call&)> run) {
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = pattern;
  for (auto segment : split_path(pattern)) route->segments.emplace_back(segment);
  route->access = access;
  route->exec = exec;
  route->run = std::move(run);
  route->metric = metrics_.add_route(std::move(method), std::move(pattern));
  routes_.push_back(std::move(route));
}

void Api::handle(http::Request request, http::Respond respond) {
  auto call = std::make_shared<Call>();
  call->started = std::chrono::steady_clock::now();
  call->request = std::move(request);
  call->respond = std::move(respond);
  auto given_id = call->request.header("x-request-id");
  if (clean_request_id(given_id)) {
    call->request_id = std::string(given_id);
  } else {
    // Unique without a syscall: a random prefix per process and a counter.
    call->request_id = request_id_prefix_ + std::to_string(request_counter_.fetch_add(1, std::memory_order_relaxed));
  }
  dispatch(std::move(call));
}

void Api::dispatch(std::shared_ptr<Call> call) {
  Call& c = *call;
  std::string_view target = c.request.target;
  auto qmark = target.find('?');
  std::string_view raw_path = target.substr(0, qmark);
  if (raw_path.empty() || raw_path.front() != '/') {
    return finish(c, problem_of(make_error("not_found", "No such route.")));
  }
  // The query string.
  if (qmark != std::string_view::npos) {
    std::string_view rest = target.substr(qmark + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty()) continue;
      auto eq = pair.find('=');
      auto key = url_decode(pair.substr(0, eq), true);
      auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
      if (!key || !value || !domain::is_clean_utf8(*value)) {
        return finish(c, problem_of(invalid_field("query", "the query string is malformed")));
      }
      c.query.emplace(std::move(*key), std::move(*value));
    }
  }

  // The route: the first whose segments match; a path that matches under
  // another method is a 405 with Allow.
  auto segments = split_path(raw_path);
  std::string allow;
  // Literal segments are compared first; parameters are decoded only for the
  // route that matched.
  for (const auto& route : routes_) {
    if (route->segments.size() != segments.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = route->segments[i];
      match = (want.size() > 2 && want.front() == '{') ? !segments[i].empty() : want == segments[i];
    }
    if (!match) continue;
    std::vector<std::pair<std::string, std::string>> params;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = route->segments[i];
      if (want.size() > 2 && want.front() == '{') {
        auto value = url_decode(segments[i], false);
        if (!value || value->empty()) {
          match = false;
        } else {
          params.emplace_back(want.substr(1, want.size() - 2), std::move(*value));
        }
      }
    }
    if (!match) continue;
    if (route->method != c.request.method) {
      if (!allow.empty()) allow += ", ";
      allow += route->method;
      continue;
    }
    c.route = route.get();
    c.params = std::move(params);
    break;
  }
  if (c.route == nullptr) {
    if (!allow.empty()) {
      auto r = problem_of(make_error("method_not_allowed", "This route does not answer " + c.request.method + "."));
      r.status = 405;
      r.headers.emplace_back("Allow", allow);
      return finish(c, std::move(r));
    }
    return finish(c, problem_of(make_error("not_found", "No such route.")));
  }

  const Route& route = *c.route;
  c.ctx.correlation_id = c.request_id;
  c.ctx.source_ip = c.request.source_ip;
  c.ctx.durable_at = &c.durable_at;
  c.ctx.actor = {"system", "", "public"};

  if (route.access & kPublic) {
    if (int wait = guards_->limiter.admit(c.request.source_ip); wait > 0) {
      auto r = problem_of(make_error("rate_limited", "Too many requests from this address; try again later."));
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return finish(c, std::move(r));
    }
  }

  // Bodies are JSON.
  if (!c.request.body.empty()) {
    auto type = c.request.header("content-type");
    if (type.substr(0, type.find(';')) != "application/json") {
      return finish(c, problem_of(make_error("unsupported_media_type", "Send the body as application/json.")));
    }
  }

  // The tenant, for routes under /v1/t/{t}.
  c.tenant = c.param("t");
  if (route.segments.size() > 2 && route.segments[1] == "t") {
    if (domain::check_tenant_id(c.tenant)) {
      return finish(c, problem_of(make_error("not_found", "No such tenant.")));
    }
  }
  c.ctx.tenant = c.tenant;

  if (auto denied = authenticate(c)) return finish(c, std::move(*denied));

  // Idempotency-Key: a retry of a command gets the first answer.
  auto idempotency_key = c.request.header("idempotency-key");
  if (!idempotency_key.empty() && c.request.method != "GET") {
    if (idempotency_key.size() > 255) {
      return finish(c, problem_of(invalid_field("Idempotency-Key", "Idempotency-Key is at most 255 characters")));
    }
    std::string scope = c.tenant + "|" + c.credential + "|" + c.request.method + " " +
                        std::string(raw_path) + "|" + std::string(idempotency_key);
    auto found = guards_->idempotency.claim(scope, blake2b_hex(c.request.body));
    switch (found.claim) {
      case IdempotencyStore::Claim::fresh:
        c.idempotency_scope = std::move(scope);
        break;
      case IdempotencyStore::Claim::replay:
        found.response.headers.emplace_back("Idempotent-Replayed", "true");
        return finish(c, std::move(found.response));
      case IdempotencyStore::Claim::in_progress:
        return finish(c, problem_of(make_error("idempotency_in_progress",
                                               "A request with this Idempotency-Key is still running.")));
      case IdempotencyStore::Claim::mismatch:
        return finish(c, problem_of(make_error("idempotency_key_reused",
                                               "This Idempotency-Key was used with another body.")));
    }
  }

  // Where it runs.
  int exec = route.exec;
  if (c.request.method == "GET") {
    std::uint64_t min_position = 0;
    if (const auto* v = c.query_value("min_position")) {
      try {
        std::size_t used = 0;
        min_position = std::stoull(*v, &used);
        if (used != v->size() || v->front() == '-') throw std::invalid_argument("min_position");
      } catch (const std::exception&) {
        return finish(c, problem_of(invalid_field("min_position", "min_position must be a non-negative integer")));
      }
    }
    c.min_position = min_position;
    if (exec == kQuery) exec = min_position > deps_.runner.applied() ? kWait : kInline;
  }
  if (exec == kInline) return run_call(call);
  WorkerPool& pool = exec == kHash   ? deps_.hash_pool
                     : exec == kWait ? deps_.wait_pool
                                     : deps_.command_pool;
  if (!pool.try_submit([this, call] { run_call(call); })) {
    auto r = problem_of(make_error("overloaded", "The server is busy; try again shortly."));
    r.headers.emplace_back("Retry-After", "1");
    return finish(c, std::move(r));
  }
}

std::optional<http::Response> Api::authenticate(Call& c) {
  const Route& route = *c.route;
  if (route.access & (kOpen | kPublic)) {
    c.credential = "ip:" + c.request.source_ip;  // scopes an anonymous caller's Idempotency-Keys
    return std::nullopt;
  }

  auto unauthenticated = [] {
    auto r = problem_of(make_error("unauthenticated", "Send Authorization: Bearer <API key or session token>."));
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  auto forbidden = [] { return problem_of(make_error("forbidden", "This credential may not use this route.")); };
  auto no_tenant = [] { return problem_of(make_error("not_found", "No such tenant.")); };

  auto authorization = c.request.header("authorization");
  if (authorization.size() < 8 || !domain::ascii_lower(authorization.substr(0, 7)).starts_with("bearer ")) {
    return unauthenticated();
  }
  std::string_view credential = domain::trim(authorization.substr(7));

  // The platform key: lk_platform_…
  if (credential.starts_with("lk_platform_")) {
    const std::string presented = blake2b_hex(credential);
    if (options_.platform_key_hash.empty() ||
        !domain::constant_time_equal(presented, options_.platform_key_hash)) {
      return unauthenticated();
    }
    if (!(route.access & kPlatform)) return forbidden();
    c.credential = "platform";
    c.ctx.actor = {"platform", "platform", "Platform"};
    return std::nullopt;
  }

  // An API key: lk_<tenant>~<key id>.<secret>
  if (credential.starts_with("lk_") && credential.find('~') != std::string_view::npos) {
    auto tilde = credential.find('~');
    std::string_view key_tenant = credential.substr(3, tilde - 3);
    std::string_view core = credential.substr(tilde + 1);
    if (c.tenant.empty()) return forbidden();  // tenant keys only work under /v1/t/{t}
    // A key of another tenant: that tenant's routes do not exist for it.
    if (key_tenant != c.tenant) return no_tenant();
    auto who = authenticate_key(c.tenant, core);
    if (!who.ok()) {
      if (who.error().code == "invalid_api_key") return unauthenticated();
      return problem_of(who.error());
    }
    int role_bit = who->role == "admin"       ? kAdmin
                   : who->role == "staff"     ? kStaff
                   : who->role == "registrar" ? kRegistrar
                   : who->role == "auditor"   ? kAuditor
                                              : 0;
    if (!(route.access & role_bit)) return forbidden();
    c.credential = "key:" + who->key_id;
    c.role = who->role;
    c.ctx.actor = {"staff", who->key_id, who->name};
    return std::nullopt;
  }

  // A guardian session token: <guardian id>.<secret>
  if (c.tenant.empty()) return unauthenticated();
  auto who = deps_.commands.authenticate_session(c.tenant, credential);
  if (!who.ok()) {
    if (who.error().code == "session_invalid") {
      auto r = problem_of(who.error());
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    return problem_of(who.error());
  }
  if (!(route.access & (kGuardian | kGuardianMustChange))) return forbidden();
  if (who->must_change_password && !(route.access & kGuardianMustChange)) {
    return problem_of(make_error("password_change_required",
                                 "Set a new password first; this session may only change its password or log out."));
  }
  c.credential = "session:" + who->session_id;
  c.guardian = *who;
  c.session_token = std::string(credential);
  c.ctx.actor = {"guardian", who->guardian_id, ""};
  return std::nullopt;
}

Result<commands::ApiKeyPrincipal> Api::authenticate_key(const std::string& tenant, std::string_view key) {
  // Keys are checked against the write model (a log read and a keyed hash);
  // the answer is kept until the next revocation in this process, which is
  // the only place keys are revoked. The epoch is read before checking, so a
  // check that raced a revocation is never cached as current.
  const std::string digest = blake2b_hex(key);
  const std::uint64_t epoch = key_epoch_.load(std::memory_order_acquire);
  {
    std::shared_lock lock(key_cache_mutex_);
    auto it = key_cache_.find(digest);
    if (it != key_cache_.end() && it->second.epoch == epoch && it->second.tenant == tenant) {
      return it->second.who;
    }
  }
  auto who = deps_.commands.authenticate_api_key(tenant, key);
  if (who.ok()) {
    std::unique_lock lock(key_cache_mutex_);
    if (key_cache_.size() >= 10'000) key_cache_.clear();
    key_cache_[digest] = CachedKey{tenant, *who, epoch};
  }
  return who;
}

void Api::forget_keys() { key_epoch_.fetch_add(1, std::memory_order_acq_rel); }

void Api::run_call(const std::shared_ptr<Call>& call) {
  Call& c = *call;
  http::Response response;
  try {
    if (c.min_position > 0 && !deps_.reads.wait_for(c.min_position)) {
      response = problem_of(make_error("not_caught_up", "The read model has not reached min_position yet."));
      response.headers.emplace_back("Retry-After", "1");
    } else {
      response = c.route->run(c);
    }
  } catch (const std::exception& e) {
    spdlog::error(R"(route {} {} threw: {})", c.route->method, c.route->pattern, e.what());
    response = problem_of(make_error("internal_error", "The server failed to answer."));
  }
  if (c.durable_at > deps_.store.head()) return answer_when_durable(call, std::move(response));
  finish(c, std::move(response));
}

void Api::answer_when_durable(const std::shared_ptr<Call>& call, http::Response response) {
  call->answer = std::move(response);
  held_answers_.fetch_add(1);
  deps_.store.when_durable(call->durable_at, [this, call](Result<void> durable) {
    if (!durable.ok()) call->answer = problem_of(durable.error());  // a 500; the log has why
    auto send = [this, call] {
      finish(*call, std::move(call->answer));
      if (held_answers_.fetch_sub(1) == 1) {
        std::lock_guard lock(held_mutex_);
        held_done_.notify_all();
      }
    };
    if (!answer_pool_.try_submit(send)) send();
  });
}

void Api::finish(Call& c, http::Response response) {
  response.headers.emplace_back("X-Request-Id", c.request_id);
  if (!c.idempotency_scope.empty()) {
    guards_->idempotency.settle(c.idempotency_scope, response);
    c.idempotency_scope.clear();
  }
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
  if (c.route != nullptr) metrics_.record(c.route->metric, response.status, elapsed);
  // The access log: never a body, a query value or the Authorization header.
  if (c.request.method != "GET" || response.status >= 400) {
    spdlog::info(R"(request {} {} {} status={} ms={:.2f} ip={} request_id={})", c.request.method,
                 c.route ? c.route->pattern : std::string("(no route)"), c.tenant, response.status,
                 elapsed * 1000, c.request.source_ip, c.request_id);
  } else {
    spdlog::debug(R"(request GET {} status={} ms={:.2f})", c.route ? c.route->pattern : "(no route)",
                  response.status, elapsed * 1000);
  }
  if (c.floor_until && std::chrono::steady_clock::now() < *c.floor_until) {
    guards_->delayed.at(*c.floor_until, [respond = std::move(c.respond), response = std::move(response)]() mutable {
      respond(std::move(response));
    });
    return;
  }
  c.respond(std::move(response));
}

// Where the server's memory goes: the resident set, glibc's heap (in use,
// and freed but still held), each RocksDB store's bounded pools, and the
// entries of the caches that grow with the data until their bounds.
void Api::render_memory(std::string& out) {
  out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
  out += "# TYPE process_resident_memory_bytes gauge\n";
  metric_line(out, "process_resident_memory_bytes", "", static_cast<double>(resident_bytes()));
  const struct mallinfo2 heap = mallinfo2();
  out += "# HELP latchkey_heap_bytes The C heap: bytes allocated (in_use), and bytes freed but "
         "still held by the process (free).\n";
  out += "# TYPE latchkey_heap_bytes gauge\n";
  metric_line(out, "latchkey_heap_bytes", "state=\"in_use\"", static_cast<double>(heap.uordblks + heap.hblkhd));
  metric_line(out, "latchkey_heap_bytes", "state=\"free\"", static_cast<double>(heap.fordblks));
  out += "# HELP latchkey_store_memory_bytes What each RocksDB store holds in memory, by RocksDB's "
         "own accounting.\n";
  out += "# TYPE latchkey_store_memory_bytes gauge\n";
  const std::pair<const char*, StoreMemory> stores[] = {{"log", deps_.store.memory()},
                                                        {"read_models", deps_.reads.memory()}};
  for (const auto& [store, memory] : stores) {
    const std::string labels = std::string("store=\"") + store + "\",part=";
    metric_line(out, "latchkey_store_memory_bytes", labels + "\"block_cache\"",
                static_cast<double>(memory.block_cache_bytes));
    metric_line(out, "latchkey_store_memory_bytes", labels + "\"memtables\"",
                static_cast<double>(memory.memtable_bytes));
    metric_line(out, "latchkey_store_memory_bytes", labels + "\"table_readers\"",
                static_cast<double>(memory.table_reader_bytes));
  }
  out += "# HELP latchkey_write_models_cached Write models cached for recently used streams.\n";
  out += "# TYPE latchkey_write_models_cached gauge\n";
  metric_line(out, "latchkey_write_models_cached", "", static_cast<double>(deps_.commands.cached_write_models()));
  out += "# HELP latchkey_projection_cached_rows Read-model rows the projections keep in memory.\n";
  out += "# TYPE latchkey_projection_cached_rows gauge\n";
  metric_line(out, "latchkey_projection_cached_rows", "", static_cast<double>(deps_.runner.cached_rows_seen()));
}

http::Response Api::metrics_text() {
  std::string out;
  metrics_.render(out);
  const auto head = deps_.store.head();
  const auto applied = deps_.runner.applied();
  out += "# HELP latchkey_events_appended_total Events in the log (its durable head position).\n";
  out += "# TYPE latchkey_events_appended_total counter\n";
  metric_line(out, "latchkey_events_appended_total", "", static_cast<double>(head));
  out += "# HELP latchkey_projection_lag_events Events appended but not yet applied to every read model.\n";
  out += "# TYPE latchkey_projection_lag_events gauge\n";
  metric_line(out, "latchkey_projection_lag_events", "", static_cast<double>(head > applied ? head - applied : 0));
  out += "# HELP latchkey_outbox_backlog Messages waiting for delivery.\n";
  out += "# TYPE latchkey_outbox_backlog gauge\n";
  metric_line(out, "latchkey_outbox_backlog", "",
              deps_.dispatcher ? static_cast<double>(deps_.dispatcher->backlog()) : 0.0);
  out += "# HELP latchkey_notifications_delivered_total Messages delivered since start.\n";
  out += "# TYPE latchkey_notifications_delivered_total counter\n";
  metric_line(out, "latchkey_notifications_delivered_total", "",
              deps_.dispatcher ? static_cast<double>(deps_.dispatcher->delivered()) : 0.0);
  out +=
      "# HELP latchkey_answers_awaiting_durability Command answers held until their events are "
      "synced.\n";
  out += "# TYPE latchkey_answers_awaiting_durability gauge\n";
  metric_line(out, "latchkey_answers_awaiting_durability", "",
              static_cast<double>(held_answers_.load()));
  render_memory(out);
  out += "# HELP latchkey_http_io_threads Threads serving HTTP connections.\n";
  out += "# TYPE latchkey_http_io_threads gauge\n";
  metric_line(out, "latchkey_http_io_threads", "", static_cast<double>(options_.io_threads));
  for (WorkerPool* pool : {&deps_.hash_pool, &deps_.command_pool, &deps_.wait_pool}) {
    const std::string name = "latchkey_" + pool->name() + "_pool";
    out += "# HELP " + name + "_queue Jobs waiting for a worker.\n# TYPE " + name + "_queue gauge\n";
    metric_line(out, name + "_queue", "", static_cast<double>(pool->queued()));
    out += "# HELP " + name + "_busy Workers busy.\n# TYPE " + name + "_busy gauge\n";
    metric_line(out, name + "_busy", "", static_cast<double>(pool->busy()));
    out += "# HELP " + name + "_threads Workers.\n# TYPE " + name + "_threads gauge\n";
    metric_line(out, name + "_threads", "", static_cast<double>(pool->threads()));
  }
  http::Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  return r;
}

}  // namespace latchkey::app
