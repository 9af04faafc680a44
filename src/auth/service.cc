#include "auth/service.h"

#include <grpcpp/resource_quota.h>
#include <spdlog/spdlog.h>

#include <future>
#include <memory>

#include "common/grpc_status.h"

namespace nexus::auth {
namespace {

void FillToken(const TokenResult& t, v1::TokenResponse* resp) {
  resp->set_token(t.token);
  resp->set_username(t.username);
  resp->set_expires_at(t.expires_at);
}

void FillAppPassword(const AppPasswordInfo& info, v1::AppPassword* out) {
  out->set_id(info.id);
  out->set_name(info.name);
  out->set_created_at(info.created_at);
  out->set_last_used_at(info.last_used_at);
}

grpc::Status NoAppPasswords() {
  return ToGrpcStatus(Status(StatusCode::kUnimplemented, "no app passwords here"));
}

void FillS3Key(const S3KeyInfo& info, v1::S3Key* out) {
  out->set_id(info.id);
  out->set_access_key(info.access_key);
  out->set_created_at(info.created_at);
}

grpc::Status NoS3Keys() {
  return ToGrpcStatus(Status(StatusCode::kUnimplemented, "no S3 keys here"));
}

}  // namespace

void ConfigureServer(grpc::ServerBuilder& builder, const WorkerPool& pool) {
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  grpc::ResourceQuota quota("nexus-auth");
  quota.SetMaxThreads(static_cast<int>(pool.capacity()) + kInlineCallThreads);
  builder.SetResourceQuota(quota);  // takes its own reference
}

template <typename Work>
grpc::Status AuthGrpcService::Offload(grpc::ServerContext* ctx, Work work) {
  // The task alone holds the promise (through a shared_ptr, as std::function
  // must be copyable): should it ever be destroyed without running, the
  // promise breaks and wakes this thread rather than leaving it waiting.
  auto done = std::make_shared<std::promise<grpc::Status>>();
  std::future<grpc::Status> outcome = done->get_future();
  // This thread waits for the task, so ctx, the request and the response
  // outlive the task's use of them.
  bool queued = pool_.TrySubmit([ctx, done = std::move(done), work = std::move(work)]() mutable {
    // A caller that gave up while queued gets no mail sent on its behalf.
    if (ctx->IsCancelled()) {
      done->set_value(grpc::Status::CANCELLED);
      return;
    }
    done->set_value(ToGrpcStatus(work()));
  });
  if (!queued) return ToGrpcStatus(UnavailableError("nexus-auth is overloaded; retry later"));
  try {
    return outcome.get();
  } catch (const std::future_error&) {
    return ToGrpcStatus(UnavailableError("nexus-auth is shutting down"));
  }
}

template <typename Note>
const Status& AuthGrpcService::Counted(const Status& s, Note note) const {
  if (metrics_) (metrics_->*note)(s);
  return s;
}

grpc::Status AuthGrpcService::RegisterInit(grpc::ServerContext* ctx,
                                           const v1::RegisterInitRequest* req,
                                           v1::RegisterInitResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.RegisterInit(req->username(), req->password(), req->email(), req->client_ip());
    if (r.ok()) resp->set_message(*r);
    return Counted(r.status(), &AuthMetrics::InitAnswered);
  });
}

grpc::Status AuthGrpcService::RegisterVerify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                                             v1::TokenResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.RegisterVerify(req->email(), req->code(), req->client_ip());
    if (r.ok()) FillToken(*r, resp);
    return Counted(r.status(), &AuthMetrics::Answered);
  });
}

grpc::Status AuthGrpcService::LoginInit(grpc::ServerContext* ctx, const v1::LoginInitRequest* req,
                                        v1::LoginInitResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.LoginInit(req->username(), req->password(), req->client_ip());
    if (r.ok()) {
      resp->set_message(r->message);
      resp->set_email(r->email);
    }
    return Counted(r.status(), &AuthMetrics::LoginInitAnswered);
  });
}

grpc::Status AuthGrpcService::LoginVerify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                                          v1::TokenResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.LoginVerify(req->email(), req->code(), req->client_ip());
    if (r.ok()) FillToken(*r, resp);
    return Counted(r.status(), &AuthMetrics::LoginVerifyAnswered);
  });
}

grpc::Status AuthGrpcService::ValidateToken(grpc::ServerContext* /*ctx*/,
                                            const v1::ValidateTokenRequest* req,
                                            v1::ValidateTokenResponse* resp) {
  auto r = auth_.ValidateToken(req->token());
  if (r.ok()) {
    resp->set_username(r->username);
    resp->set_user_id(r->user_id);
    resp->set_jti(r->jti);
    resp->set_expires_at(r->expires_at);
    resp->set_email(r->email);
    resp->set_created_at(r->created_at);
  }
  return ToGrpcStatus(r.status());
}

grpc::Status AuthGrpcService::Logout(grpc::ServerContext* ctx, const v1::LogoutRequest* req,
                                     v1::LogoutResponse* /*resp*/) {
  return Offload(ctx, [this, req] { return auth_.Logout(req->token()); });
}

grpc::Status AuthGrpcService::GetUser(grpc::ServerContext* /*ctx*/, const v1::GetUserRequest* req,
                                      v1::User* resp) {
  auto r = auth_.GetUser(req->username());
  if (r.ok()) {
    resp->set_id(r->id);
    resp->set_username(r->username);
    resp->set_email(r->email);
    resp->set_created_at(r->created_at);
  }
  return ToGrpcStatus(r.status());
}

grpc::Status AuthGrpcService::Health(grpc::ServerContext* /*ctx*/, const v1::HealthRequest* /*req*/,
                                     v1::HealthResponse* resp) {
  Status s = auth_.Health();
  if (s.ok()) {
    resp->set_status("ok");
  } else {
    spdlog::warn("health check: {}", s.ToString());
    s = UnavailableError("auth database unavailable");
  }
  return ToGrpcStatus(s);
}

grpc::Status AuthGrpcService::Metrics(grpc::ServerContext* /*ctx*/,
                                      const v1::MetricsRequest* /*req*/,
                                      v1::MetricsResponse* resp) {
  if (!metrics_) return ToGrpcStatus(Status(StatusCode::kUnimplemented, "no metrics here"));
  resp->set_exposition(metrics_->registry().Expose());
  return grpc::Status::OK;
}

grpc::Status AuthGrpcService::CreateAppPassword(grpc::ServerContext* ctx,
                                                const v1::CreateAppPasswordRequest* req,
                                                v1::CreatedAppPassword* resp) {
  if (!app_passwords_) return NoAppPasswords();
  // A database write with an fsync: off the server thread.
  return Offload(ctx, [this, req, resp] {
    auto r = app_passwords_->Create(req->username(), req->name());
    if (r.ok()) {
      FillAppPassword(r->info, resp->mutable_app_password());
      resp->set_password(r->password);
    }
    return r.status();
  });
}

grpc::Status AuthGrpcService::ListAppPasswords(grpc::ServerContext* /*ctx*/,
                                               const v1::ListAppPasswordsRequest* req,
                                               v1::ListAppPasswordsResponse* resp) {
  if (!app_passwords_) return NoAppPasswords();
  auto r = app_passwords_->List(req->username());
  if (r.ok()) {
    for (const AppPasswordInfo& info : *r) FillAppPassword(info, resp->add_app_passwords());
  }
  return ToGrpcStatus(r.status());
}

grpc::Status AuthGrpcService::DeleteAppPassword(grpc::ServerContext* ctx,
                                                const v1::DeleteAppPasswordRequest* req,
                                                v1::DeleteAppPasswordResponse* /*resp*/) {
  if (!app_passwords_) return NoAppPasswords();
  return Offload(ctx, [this, req] { return app_passwords_->Delete(req->username(), req->id()); });
}

grpc::Status AuthGrpcService::ValidateAppPassword(grpc::ServerContext* /*ctx*/,
                                                  const v1::ValidateAppPasswordRequest* req,
                                                  v1::ValidateAppPasswordResponse* resp) {
  if (!app_passwords_) return NoAppPasswords();
  auto r = app_passwords_->Validate(req->username(), req->password(), req->client_address());
  if (r.ok()) {
    resp->set_username(r->username);
    resp->set_user_id(r->user_id);
    resp->set_email(r->email);
    resp->set_created_at(r->created_at);
    resp->set_app_password_id(r->app_password_id);
  }
  return ToGrpcStatus(Counted(r.status(), &AuthMetrics::AppPasswordValidated));
}

grpc::Status AuthGrpcService::CreateS3Key(grpc::ServerContext* ctx,
                                          const v1::CreateS3KeyRequest* req,
                                          v1::CreatedS3Key* resp) {
  if (!s3_keys_) return NoS3Keys();
  return Offload(ctx, [this, req, resp] {
    auto r = s3_keys_->Create(req->username());
    if (r.ok()) {
      FillS3Key(r->info, resp->mutable_s3_key());
      resp->set_secret_key(r->secret_key);
    }
    return r.status();
  });
}

grpc::Status AuthGrpcService::ListS3Keys(grpc::ServerContext* /*ctx*/,
                                         const v1::ListS3KeysRequest* req,
                                         v1::ListS3KeysResponse* resp) {
  if (!s3_keys_) return NoS3Keys();
  auto r = s3_keys_->List(req->username());
  if (r.ok()) {
    for (const S3KeyInfo& info : *r) FillS3Key(info, resp->add_s3_keys());
  }
  return ToGrpcStatus(r.status());
}

grpc::Status AuthGrpcService::DeleteS3Key(grpc::ServerContext* ctx,
                                          const v1::DeleteS3KeyRequest* req,
                                          v1::DeleteS3KeyResponse* /*resp*/) {
  if (!s3_keys_) return NoS3Keys();
  return Offload(ctx, [this, req] { return s3_keys_->Delete(req->username(), req->id()); });
}

grpc::Status AuthGrpcService::GetS3KeySecret(grpc::ServerContext* /*ctx*/,
                                             const v1::GetS3KeySecretRequest* req,
                                             v1::S3KeySecret* resp) {
  if (!s3_keys_) return NoS3Keys();
  auto r = s3_keys_->Lookup(req->access_key());
  if (r.ok()) {
    resp->set_username(r->username);
    resp->set_user_id(r->user_id);
    resp->set_email(r->email);
    resp->set_created_at(r->created_at);
    resp->set_secret_key(r->secret_key);
  }
  return ToGrpcStatus(r.status());
}

}  // namespace nexus::auth
