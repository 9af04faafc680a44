#include "gateway/api/auth_handlers.h"

#include "gateway/api/json_response.h"
#include "gateway/formats/json_fields.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

Result<authpb::RegisterInitRequest> DecodeRegisterInit(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string username, fields.String("Username"));
  NEXUS_ASSIGN_OR_RETURN(std::string password, fields.String("Password"));
  NEXUS_ASSIGN_OR_RETURN(std::string email, fields.String("Email"));
  authpb::RegisterInitRequest call;
  call.set_username(std::move(username));
  call.set_password(std::move(password));
  call.set_email(std::move(email));
  call.set_client_ip(req.client_ip);
  return call;
}

Result<authpb::LoginInitRequest> DecodeLoginInit(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string username, fields.String("Username"));
  NEXUS_ASSIGN_OR_RETURN(std::string password, fields.String("Password"));
  authpb::LoginInitRequest call;
  call.set_username(std::move(username));
  call.set_password(std::move(password));
  call.set_client_ip(req.client_ip);
  return call;
}

Result<authpb::VerifyRequest> DecodeVerify(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string email, fields.String("Email"));
  NEXUS_ASSIGN_OR_RETURN(std::string code, fields.String("Code"));
  authpb::VerifyRequest call;
  call.set_email(std::move(email));
  call.set_code(std::move(code));
  call.set_client_ip(req.client_ip);
  return call;
}

Response TokenAnswer(const authpb::TokenResponse& t) {
  nlohmann::json j;
  j["token"] = t.token();
  j["username"] = t.username();
  return JsonValueResponse(200, j);
}

}  // namespace

asio::awaitable<Result<Response>> RegisterInitHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::RegisterInitRequest call, DecodeRegisterInit(req));
  NEXUS_CO_ASSIGN_OR_RETURN(auto answer, co_await auth.RegisterInit(std::move(call)));
  co_return MessageResponse("OTP sent to email");
}

asio::awaitable<Result<Response>> RegisterVerifyHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::VerifyRequest call, DecodeVerify(req));
  NEXUS_CO_ASSIGN_OR_RETURN(auto answer, co_await auth.RegisterVerify(std::move(call)));
  co_return TokenAnswer(answer);
}

asio::awaitable<Result<Response>> LoginInitHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::LoginInitRequest call, DecodeLoginInit(req));
  NEXUS_CO_ASSIGN_OR_RETURN(auto answer, co_await auth.LoginInit(std::move(call)));
  co_return MessageResponse("OTP sent to " + answer.email());
}

asio::awaitable<Result<Response>> LoginVerifyHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(authpb::VerifyRequest call, DecodeVerify(req));
  NEXUS_CO_ASSIGN_OR_RETURN(auto answer, co_await auth.LoginVerify(std::move(call)));
  co_return TokenAnswer(answer);
}

asio::awaitable<Result<Response>> LogoutHandler(AuthClient& auth, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string token, ParseBearerToken(req.headers));
  authpb::LogoutRequest call;
  call.set_token(std::move(token));
  NEXUS_CO_ASSIGN_OR_RETURN(auto answer, co_await auth.Logout(std::move(call)));
  co_return MessageResponse("Logged out");
}

}  // namespace nexus::gateway
