#include "auth/service.h"

#include <spdlog/spdlog.h>

#include "common/grpc_status.h"

namespace nexus::auth {
namespace {

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

void FillToken(const TokenResult& t, v1::TokenResponse* resp) {
  resp->set_token(t.token);
  resp->set_username(t.username);
  resp->set_expires_at(t.expires_at);
}

}  // namespace

template <typename Work>
grpc::ServerUnaryReactor* AuthGrpcService::Offload(grpc::CallbackServerContext* ctx, Work work) {
  auto* reactor = ctx->DefaultReactor();
  bool queued = pool_.TrySubmit([ctx, reactor, work = std::move(work)]() mutable {
    // A caller that gave up while queued gets no mail sent on its behalf.
    if (ctx->IsCancelled()) {
      reactor->Finish(grpc::Status::CANCELLED);
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(UnavailableError("nexus-auth is overloaded; retry later")));
  }
  return reactor;
}

grpc::ServerUnaryReactor* AuthGrpcService::RegisterInit(grpc::CallbackServerContext* ctx,
                                                        const v1::RegisterInitRequest* req,
                                                        v1::RegisterInitResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.RegisterInit(req->username(), req->password(), req->email(), req->client_ip());
    if (r.ok()) resp->set_message(*r);
    return r.status();
  });
}

grpc::ServerUnaryReactor* AuthGrpcService::RegisterVerify(grpc::CallbackServerContext* ctx,
                                                          const v1::VerifyRequest* req,
                                                          v1::TokenResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.RegisterVerify(req->email(), req->code());
    if (r.ok()) FillToken(*r, resp);
    return r.status();
  });
}

grpc::ServerUnaryReactor* AuthGrpcService::LoginInit(grpc::CallbackServerContext* ctx,
                                                     const v1::LoginInitRequest* req,
                                                     v1::LoginInitResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.LoginInit(req->username(), req->password(), req->client_ip());
    if (r.ok()) {
      resp->set_message(r->message);
      resp->set_email(r->email);
    }
    return r.status();
  });
}

grpc::ServerUnaryReactor* AuthGrpcService::LoginVerify(grpc::CallbackServerContext* ctx,
                                                       const v1::VerifyRequest* req,
                                                       v1::TokenResponse* resp) {
  return Offload(ctx, [this, req, resp] {
    auto r = auth_.LoginVerify(req->email(), req->code());
    if (r.ok()) FillToken(*r, resp);
    return r.status();
  });
}

grpc::ServerUnaryReactor* AuthGrpcService::ValidateToken(grpc::CallbackServerContext* ctx,
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
  return FinishNow(ctx, r.status());
}

grpc::ServerUnaryReactor* AuthGrpcService::Logout(grpc::CallbackServerContext* ctx,
                                                  const v1::LogoutRequest* req,
                                                  v1::LogoutResponse* /*resp*/) {
  return Offload(ctx, [this, req] { return auth_.Logout(req->token()); });
}

grpc::ServerUnaryReactor* AuthGrpcService::GetUser(grpc::CallbackServerContext* ctx,
                                                   const v1::GetUserRequest* req, v1::User* resp) {
  auto r = auth_.GetUser(req->username());
  if (r.ok()) {
    resp->set_id(r->id);
    resp->set_username(r->username);
    resp->set_email(r->email);
    resp->set_created_at(r->created_at);
  }
  return FinishNow(ctx, r.status());
}

grpc::ServerUnaryReactor* AuthGrpcService::Health(grpc::CallbackServerContext* ctx,
                                                  const v1::HealthRequest* /*req*/,
                                                  v1::HealthResponse* resp) {
  Status s = auth_.Health();
  if (s.ok()) {
    resp->set_status("ok");
  } else {
    spdlog::warn("health check: {}", s.ToString());
    s = UnavailableError("auth database unavailable");
  }
  return FinishNow(ctx, s);
}

}  // namespace nexus::auth
