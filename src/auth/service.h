// AuthGrpcService: the gRPC face of AuthService (nexus.auth.v1.AuthService).
//
// A thin adapter: unpack the request, call the domain AuthService, convert
// the Status with ToGrpcStatus. It is a sync service: each call runs on one
// of gRPC's server threads, which poll without pausing. (The callback API
// would run it on gRPC's completion-queue threads, which in this gRPC sleep
// 100 ms after every idle second and so stall whatever call arrives then.)
//
// Cheap calls (ValidateToken, ValidateAppPassword, ListAppPasswords,
// ListS3Keys, GetS3KeySecret, GetUser, Health) are answered on the server thread. Calls that may
// block on argon2, SMTP or a database write run on a WorkerPool while their server thread waits for
// the result: the pool bounds how many run at once, a call that finds its queue full fails fast
// with kUnavailable, and a call whose caller gave up while it was queued is answered CANCELLED
// without doing the work. ConfigureServer gives gRPC enough threads for every call the pool can
// hold plus the cheap ones, so a burst of logins can never delay token validation.
//
// Outcomes are counted in AuthMetrics when one is given, and Metrics answers
// with its registry's exposition (UNIMPLEMENTED without one). The app
// password calls are served by the AppPasswords given, the S3 key calls by
// the S3Keys given (UNIMPLEMENTED without them). GetS3KeySecret answers a
// secret: its answers are never logged.
//
// Owns nothing: `auth`, `pool`, `metrics` and `app_passwords` must outlive
// the server, and the pool must
// keep running tasks until the server has shut down (a waiting call ends only
// when its task has run). Thread-safe.
#pragma once

#include <grpcpp/server_builder.h>

#include "auth/app_passwords.h"
#include "auth/auth_metrics.h"
#include "auth/auth_service.h"
#include "auth/s3_keys.h"
#include "auth/worker_pool.h"
#include "nexus/auth/v1/auth.grpc.pb.h"

namespace nexus::auth {

// The largest request nexus-auth accepts: its messages are a few short
// strings (gRPC's default is 4 MiB).
inline constexpr int kMaxReceiveMessageBytes = 64 * 1024;

// Server threads kept for the calls answered on them (ValidateToken on every
// API request, GetUser, Health) beyond those that pool calls may hold. gRPC
// keeps one thread of the quota polling, so 31 such calls can run at the same
// instant while the pool is full. Each takes well under a millisecond, far
// more than two cores serve; past the quota gRPC would answer
// RESOURCE_EXHAUSTED (which the gateway answers as a busy 503).
inline constexpr int kInlineCallThreads = 32;

// What every nexus-auth server needs: the message size cap, and a thread
// quota of pool.capacity() + kInlineCallThreads. A pool call holds its
// server thread while it runs or waits in the queue, so a smaller quota would
// let a burst of logins take every thread. The threads exist only while calls
// do: gRPC's sync server keeps at most two idle pollers and ends the rest.
void ConfigureServer(grpc::ServerBuilder& builder, const WorkerPool& pool);

class AuthGrpcService final : public v1::AuthService::Service {
 public:
  AuthGrpcService(AuthService& auth, WorkerPool& pool, AuthMetrics* metrics = nullptr,
                  AppPasswords* app_passwords = nullptr, S3Keys* s3_keys = nullptr)
      : auth_(auth),
        pool_(pool),
        metrics_(metrics),
        app_passwords_(app_passwords),
        s3_keys_(s3_keys) {}

  grpc::Status RegisterInit(grpc::ServerContext* ctx, const v1::RegisterInitRequest* req,
                            v1::RegisterInitResponse* resp) override;
  grpc::Status RegisterVerify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                              v1::TokenResponse* resp) override;
  grpc::Status LoginInit(grpc::ServerContext* ctx, const v1::LoginInitRequest* req,
                         v1::LoginInitResponse* resp) override;
  grpc::Status LoginVerify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                           v1::TokenResponse* resp) override;
  grpc::Status ValidateToken(grpc::ServerContext* ctx, const v1::ValidateTokenRequest* req,
                             v1::ValidateTokenResponse* resp) override;
  grpc::Status Logout(grpc::ServerContext* ctx, const v1::LogoutRequest* req,
                      v1::LogoutResponse* resp) override;
  grpc::Status GetUser(grpc::ServerContext* ctx, const v1::GetUserRequest* req,
                       v1::User* resp) override;
  grpc::Status Health(grpc::ServerContext* ctx, const v1::HealthRequest* req,
                      v1::HealthResponse* resp) override;
  grpc::Status Metrics(grpc::ServerContext* ctx, const v1::MetricsRequest* req,
                       v1::MetricsResponse* resp) override;
  grpc::Status CreateAppPassword(grpc::ServerContext* ctx, const v1::CreateAppPasswordRequest* req,
                                 v1::CreatedAppPassword* resp) override;
  grpc::Status ListAppPasswords(grpc::ServerContext* ctx, const v1::ListAppPasswordsRequest* req,
                                v1::ListAppPasswordsResponse* resp) override;
  grpc::Status DeleteAppPassword(grpc::ServerContext* ctx, const v1::DeleteAppPasswordRequest* req,
                                 v1::DeleteAppPasswordResponse* resp) override;
  grpc::Status ValidateAppPassword(grpc::ServerContext* ctx,
                                   const v1::ValidateAppPasswordRequest* req,
                                   v1::ValidateAppPasswordResponse* resp) override;
  grpc::Status CreateS3Key(grpc::ServerContext* ctx, const v1::CreateS3KeyRequest* req,
                           v1::CreatedS3Key* resp) override;
  grpc::Status ListS3Keys(grpc::ServerContext* ctx, const v1::ListS3KeysRequest* req,
                          v1::ListS3KeysResponse* resp) override;
  grpc::Status DeleteS3Key(grpc::ServerContext* ctx, const v1::DeleteS3KeyRequest* req,
                           v1::DeleteS3KeyResponse* resp) override;
  grpc::Status GetS3KeySecret(grpc::ServerContext* ctx, const v1::GetS3KeySecretRequest* req,
                              v1::S3KeySecret* resp) override;

 private:
  // Runs `work` (returning a Status) on the pool and waits for its outcome.
  template <typename Work>
  grpc::Status Offload(grpc::ServerContext* ctx, Work work);

  // Counts an answer in metrics_, when there is one; returns `s`.
  template <typename Note>
  const Status& Counted(const Status& s, Note note) const;

  AuthService& auth_;
  WorkerPool& pool_;
  AuthMetrics* metrics_;
  AppPasswords* app_passwords_;
  S3Keys* s3_keys_;
};

}  // namespace nexus::auth
