// LambdaRpc: the gRPC adapter for nexus.daemon.v1.Lambda over the lambda
// runner (lambda/lambda.h). Unpacks the request, takes a lambda-run slot
// (call_admission.h), runs, converts the Status (reply.h), and counts the
// run in LambdaMetrics when it has one.
//
// Thread-safe as long as the runner is. The LambdaRunner, the CallAdmission
// and the metrics must outlive the service.
#pragma once

#include "daemon/lambda/lambda.h"
#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/daemon_metrics.h"
#include "nexus/daemon/v1/lambda.grpc.pb.h"

namespace nexus::daemon {

class LambdaRpc final : public v1::Lambda::Service {
 public:
  LambdaRpc(runtime::LambdaRunner& runner, CallAdmission& admission,
            LambdaMetrics* metrics = nullptr)
      : runner_(runner), admission_(admission), metrics_(metrics) {}

  grpc::Status RunLambda(grpc::ServerContext* ctx, const v1::RunLambdaRequest* req,
                         v1::RunLambdaResponse* resp) override;

 private:
  runtime::LambdaRunner& runner_;
  CallAdmission& admission_;
  LambdaMetrics* metrics_;
};

}  // namespace nexus::daemon
