// LambdaRpc: the gRPC adapter for nexus.daemon.v1.Lambda over the lambda
// runner (lambda/lambda.h). Unpacks the request, takes a lambda-run slot
// (call_admission.h), runs, converts the Status (reply.h).
//
// Thread-safe as long as the runner is. The LambdaRunner and the
// CallAdmission must outlive the service.
#pragma once

#include "daemon/lambda/lambda.h"
#include "daemon/rpc/call_admission.h"
#include "nexus/daemon/v1/lambda.grpc.pb.h"

namespace nexus::daemon {

class LambdaRpc final : public v1::Lambda::Service {
 public:
  LambdaRpc(runtime::LambdaRunner& runner, CallAdmission& admission)
      : runner_(runner), admission_(admission) {}

  grpc::Status RunLambda(grpc::ServerContext* ctx, const v1::RunLambdaRequest* req,
                         v1::RunLambdaResponse* resp) override;

 private:
  runtime::LambdaRunner& runner_;
  CallAdmission& admission_;
};

}  // namespace nexus::daemon
