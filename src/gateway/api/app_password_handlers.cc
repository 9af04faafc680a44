#include "gateway/api/app_password_handlers.h"

#include <nlohmann/json.hpp>

#include "gateway/api/json_response.h"
#include "gateway/formats/json_fields.h"
#include "gateway/formats/utf8.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

nlohmann::json AppPasswordJson(const authpb::AppPassword& a) {
  nlohmann::json j;
  j["id"] = a.id();
  j["name"] = a.name();
  j["created"] = FormatRfc3339Utc(a.created_at());
  j["created_at"] = a.created_at();
  return j;
}

Result<authpb::CreateAppPasswordRequest> DecodeCreate(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string name, fields.String("name"));
  authpb::CreateAppPasswordRequest call;
  call.set_username(std::move(owner));
  call.set_name(std::move(name));
  return call;
}

}  // namespace

asio::awaitable<Result<Response>> CreateAppPasswordHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::CreateAppPasswordRequest call, DecodeCreate(req));
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::CreatedAppPassword created,
                            co_await auth.CreateAppPassword(std::move(call)));
  nlohmann::json j = AppPasswordJson(created.app_password());
  j["password"] = created.password();
  Response resp = JsonValueResponse(201, j);
  resp.headers.Set("Cache-Control", "no-store");  // the secret, shown once
  co_return resp;
}

asio::awaitable<Result<Response>> ListAppPasswordsHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  authpb::ListAppPasswordsRequest call;
  call.set_username(std::move(owner));
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::ListAppPasswordsResponse list,
                            co_await auth.ListAppPasswords(std::move(call)));
  nlohmann::json out = nlohmann::json::array();
  for (const authpb::AppPassword& a : list.app_passwords()) {
    nlohmann::json j = AppPasswordJson(a);
    j["last_used"] = a.last_used_at() > 0 ? nlohmann::json(FormatRfc3339Utc(a.last_used_at()))
                                          : nlohmann::json(nullptr);
    j["last_used_at"] =
        a.last_used_at() > 0 ? nlohmann::json(a.last_used_at()) : nlohmann::json(nullptr);
    out.push_back(std::move(j));
  }
  co_return JsonValueResponse(200, out);
}

asio::awaitable<Result<Response>> DeleteAppPasswordHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  const std::string* id = req.Param("id");
  // An id that is not UTF-8 text names no app password (and could not
  // travel in a proto string).
  if (!id || id->empty() || ToValidUtf8(*id) != *id) {
    co_return NotFoundError("app password not found");
  }
  authpb::DeleteAppPasswordRequest call;
  call.set_username(std::move(owner));
  call.set_id(*id);
  NEXUS_CO_ASSIGN_OR_RETURN(auto done, co_await auth.DeleteAppPassword(std::move(call)));
  Response r;
  r.status = 204;
  co_return r;
}

}  // namespace nexus::gateway
