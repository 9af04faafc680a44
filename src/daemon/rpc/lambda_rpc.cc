#include "daemon/rpc/lambda_rpc.h"

#include <chrono>
#include <string_view>
#include <utility>

#include "daemon/rpc/reply.h"

namespace nexus::daemon {

grpc::Status LambdaRpc::RunLambda(grpc::ServerContext*, const v1::RunLambdaRequest* req,
                                  v1::RunLambdaResponse* resp) {
  constexpr std::string_view kRpc = "lambda";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.lambda_runs, req->owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
  runtime::LambdaRequest run;
  run.code = req->code();
  run.runtime = req->runtime();
  run.stdin_data = req->stdin();
  run.timeout_ms = req->timeout_ms();
  run.memory_mb = req->memory_mb();
  run.owner = req->owner();
  const auto started = std::chrono::steady_clock::now();
  Result<runtime::LambdaResult> result = runner_.Run(run);
  if (metrics_) {
    metrics_->RunFinished(
        result, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (!result.ok()) return Reply(kRpc, result.status());
  resp->set_stdout(std::move(result->stdout_data));
  resp->set_stderr(std::move(result->stderr_data));
  resp->set_exit_code(result->exit_code);
  resp->set_execution_time_ms(result->execution_time_ms);
  resp->set_signal(result->signal);
  resp->set_timed_out(result->timed_out);
  resp->set_oom_killed(result->oom_killed);
  resp->set_stdout_truncated(result->stdout_truncated);
  resp->set_stderr_truncated(result->stderr_truncated);
  return grpc::Status::OK;
}

}  // namespace nexus::daemon
