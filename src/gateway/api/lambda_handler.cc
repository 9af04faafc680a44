#include "gateway/api/lambda_handler.h"

#include "gateway/api/json_response.h"
#include "gateway/formats/json_fields.h"
#include "gateway/formats/utf8.h"

namespace nexus::gateway {
namespace {

Result<daemonpb::RunLambdaRequest> DecodeRun(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string code, fields.String("Code"));
  NEXUS_ASSIGN_OR_RETURN(std::string runtime, fields.String("Runtime"));
  NEXUS_ASSIGN_OR_RETURN(std::optional<std::string> stdin_data, fields.OptionalString("Stdin"));
  NEXUS_ASSIGN_OR_RETURN(std::optional<int64_t> timeout_ms, fields.OptionalInt("TimeoutMs"));
  NEXUS_ASSIGN_OR_RETURN(std::optional<int64_t> memory_mb, fields.OptionalInt("MemoryMb"));
  // 0 means "the default" to nexusd; a client's explicit 0 or less is a
  // mistake, not a request for the default.
  if (timeout_ms && *timeout_ms <= 0) {
    return InvalidArgumentError("field 'TimeoutMs' must be a positive integer");
  }
  if (memory_mb && *memory_mb <= 0) {
    return InvalidArgumentError("field 'MemoryMb' must be a positive integer");
  }
  daemonpb::RunLambdaRequest call;
  call.set_owner(req.principal.username);
  call.set_code(std::move(code));
  call.set_runtime(std::move(runtime));
  if (stdin_data) call.set_stdin(std::move(*stdin_data));
  call.set_timeout_ms(timeout_ms.value_or(0));
  call.set_memory_mb(memory_mb.value_or(0));
  return call;
}

// nexusd's own kUnavailable answers for lambda describe the host (runc
// paths, missing privileges, a sandbox that would not start): all of them are
// "this host cannot run lambda" to a client. Only a transport failure
// (Reason::kBackendDown) is told as it is.
Status ForClient(const Status& status) {
  if (status.code() != StatusCode::kUnavailable) return status;
  if (status.reason() == Reason::kBackendDown) return status;
  const Reason reason = Reason::kLambdaUnsupportedHere;
  return UnavailableError(std::string(ReasonClientMessage(reason))).set_reason(reason);
}

}  // namespace

asio::awaitable<Result<Response>> LambdaRunHandler(DaemonClient& daemon, Request& req) {
  if (req.principal.username.empty()) {
    co_return InternalError("/api/lambda/run reached without authentication");
  }
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::RunLambdaRequest call, DecodeRun(req));
  Result<daemonpb::RunLambdaResponse> run = co_await daemon.RunLambda(std::move(call));
  if (!run.ok()) co_return ForClient(run.status());
  nlohmann::json j;
  j["stdout"] = ToValidUtf8(run->stdout());
  j["stderr"] = ToValidUtf8(run->stderr());
  j["exit_code"] = run->exit_code();
  j["execution_time_ms"] = run->execution_time_ms();
  j["signal"] = run->signal().empty() ? nlohmann::json(nullptr) : nlohmann::json(run->signal());
  j["timed_out"] = run->timed_out();
  j["oom_killed"] = run->oom_killed();
  j["stdout_truncated"] = run->stdout_truncated();
  j["stderr_truncated"] = run->stderr_truncated();
  co_return JsonValueResponse(200, j);
}

}  // namespace nexus::gateway
