#include "gateway/api/s3_key_handlers.h"

#include <nlohmann/json.hpp>

#include "gateway/api/json_response.h"
#include "gateway/formats/utf8.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

nlohmann::json S3KeyJson(const authpb::S3Key& k) {
  nlohmann::json j;
  j["id"] = k.id();
  j["access_key"] = k.access_key();
  j["created"] = FormatRfc3339Utc(k.created_at());
  j["created_at"] = k.created_at();
  return j;
}

}  // namespace

asio::awaitable<Result<Response>> CreateS3KeyHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  authpb::CreateS3KeyRequest call;
  call.set_username(std::move(owner));
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::CreatedS3Key created,
                            co_await auth.CreateS3Key(std::move(call)));
  nlohmann::json j = S3KeyJson(created.s3_key());
  j["secret_key"] = created.secret_key();
  co_return JsonValueResponse(201, j);
}

asio::awaitable<Result<Response>> ListS3KeysHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  authpb::ListS3KeysRequest call;
  call.set_username(std::move(owner));
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::ListS3KeysResponse list,
                            co_await auth.ListS3Keys(std::move(call)));
  nlohmann::json out = nlohmann::json::array();
  for (const authpb::S3Key& k : list.s3_keys()) out.push_back(S3KeyJson(k));
  co_return JsonValueResponse(200, out);
}

asio::awaitable<Result<Response>> DeleteS3KeyHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  const std::string* id = req.Param("id");
  // An id that is not UTF-8 text names no key (and could not travel in a
  // proto string).
  if (!id || id->empty() || ToValidUtf8(*id) != *id) co_return NotFoundError("S3 key not found");
  authpb::DeleteS3KeyRequest call;
  call.set_username(std::move(owner));
  call.set_id(*id);
  NEXUS_CO_ASSIGN_OR_RETURN(auto done, co_await auth.DeleteS3Key(std::move(call)));
  Response r;
  r.status = 204;
  co_return r;
}

}  // namespace nexus::gateway
