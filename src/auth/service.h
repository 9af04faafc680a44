// AuthGrpcService: the gRPC face of AuthService (nexus.auth.v1.AuthService).
//
// A thin adapter: unpack the request, call the domain AuthService, convert
// the Status with ToGrpcStatus. It uses gRPC's callback API. Cheap calls
// (ValidateToken, GetUser, Health) are answered inline on gRPC's threads;
// calls that may block on argon2, SMTP or a database write run on a
// WorkerPool, so a burst of logins can never delay token validation. When
// the pool's queue is full the call fails fast with kUnavailable.
//
// Owns nothing: `auth` and `pool` must outlive the server. Thread-safe.
#pragma once

#include "auth/auth_service.h"
#include "auth/worker_pool.h"
#include "nexus/auth/v1/auth.grpc.pb.h"

namespace nexus::auth {

class AuthGrpcService final : public v1::AuthService::CallbackService {
 public:
  AuthGrpcService(AuthService& auth, WorkerPool& pool) : auth_(auth), pool_(pool) {}

  grpc::ServerUnaryReactor* RegisterInit(grpc::CallbackServerContext* ctx,
                                         const v1::RegisterInitRequest* req,
                                         v1::RegisterInitResponse* resp) override;
  grpc::ServerUnaryReactor* RegisterVerify(grpc::CallbackServerContext* ctx,
                                           const v1::VerifyRequest* req,
                                           v1::TokenResponse* resp) override;
  grpc::ServerUnaryReactor* LoginInit(grpc::CallbackServerContext* ctx,
                                      const v1::LoginInitRequest* req,
                                      v1::LoginInitResponse* resp) override;
  grpc::ServerUnaryReactor* LoginVerify(grpc::CallbackServerContext* ctx,
                                        const v1::VerifyRequest* req,
                                        v1::TokenResponse* resp) override;
  grpc::ServerUnaryReactor* ValidateToken(grpc::CallbackServerContext* ctx,
                                          const v1::ValidateTokenRequest* req,
                                          v1::ValidateTokenResponse* resp) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* ctx, const v1::LogoutRequest* req,
                                   v1::LogoutResponse* resp) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* ctx, const v1::GetUserRequest* req,
                                    v1::User* resp) override;
  grpc::ServerUnaryReactor* Health(grpc::CallbackServerContext* ctx, const v1::HealthRequest* req,
                                   v1::HealthResponse* resp) override;

 private:
  // Runs `work` (returning a Status) on the pool and finishes the call with it.
  template <typename Work>
  grpc::ServerUnaryReactor* Offload(grpc::CallbackServerContext* ctx, Work work);

  AuthService& auth_;
  WorkerPool& pool_;
};

}  // namespace nexus::auth
