#include "gateway/http/pipeline.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "gateway/backends/error_mapping.h"
#include "gateway/http/basic_auth.h"
#include "gateway/http/middleware.h"
#include "gateway/http/request_target.h"

namespace nexus::gateway {
namespace {

// Counts the bytes a streaming route's handler reads.
class CountingBodyReader final : public BodyReader {
 public:
  explicit CountingBodyReader(BodyReader& inner) : inner_(inner) {}
  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override {
    Result<std::size_t> n = co_await inner_.Read(buf);
    if (n.ok()) bytes_ += *n;
    co_return n;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  BodyReader& inner_;
  uint64_t bytes_ = 0;
};

}  // namespace

Pipeline::Pipeline(const Router& router, AuthClient& auth, PipelineOptions options)
    : router_(router), auth_(auth), options_(options) {}

asio::awaitable<Pipeline::Admission> Pipeline::Admit(Request& req, std::string_view target) const {
  Admission a;
  if (req.request_id.empty()) AssignRequestId(req);
  if (Status s = ParseRequestTarget(target, req); !s.ok()) {
    a.response = ErrorResponse(s, req.request_id);
    co_return a;
  }
  RouteMatch match = router_.Match(req.method, req.segments);
  if (match.kind != RouteMatch::Kind::kFound) {
    a.response = NoRouteResponse(match);
    co_return a;
  }
  const Route& route = *match.route;
  req.params = std::move(match.params);
  req.route = route.pattern;
  const int64_t body_limit =
      route.options.max_body_bytes > 0 ? route.options.max_body_bytes : options_.max_json_bytes;
  if (Status s = CheckBodyHeaders(req, route.options.body, body_limit); !s.ok()) {
    a.response = ErrorResponse(s, req.request_id);
    co_return a;
  }
  if (route.options.authenticated) {
    const bool dav = route.options.challenge == AuthChallenge::kWebDavBasic;
    Status s;
    try {
      // WebDAV clients sign in with an app password over Basic; a bearer
      // token works there too (rclone's bearer_token, scripts). An if, not
      // a conditional expression: GCC 12 destroys the result of a co_await
      // in a ?: arm twice.
      if (dav && !HasBearerScheme(req.headers)) {
        s = co_await AuthenticateBasic(auth_, req);
      } else {
        s = co_await Authenticate(auth_, req);
      }
    } catch (const std::exception& e) {
      s = InternalError(std::string("authenticate: ") + e.what());
    }
    if (!s.ok()) {
      a.response = ErrorResponse(s, req.request_id);
      if (a.response->status == 401 && dav) {
        a.response->headers.Set("WWW-Authenticate", std::string(kBasicAuthChallenge));
      }
      co_return a;
    }
  }
  a.route = &route;
  a.body_limit = body_limit;
  co_return a;
}

asio::awaitable<Response> Pipeline::Run(Request& req, const Route& route) const {
  std::optional<CountingBodyReader> counting;
  if (options_.metrics) {
    if (req.body_reader) {
      counting.emplace(*req.body_reader);
      req.body_reader = &*counting;
    } else {
      options_.metrics->BodyReceived(req.body.size());
    }
  }
  std::optional<Response> answer;
  Status failure;
  try {
    Result<Response> r = co_await route.handler(req);
    if (r.ok()) {
      answer = std::move(r).value();
    } else {
      failure = r.status();
    }
  } catch (const std::exception& e) {
    failure = InternalError(route.method + " " + route.pattern + ": " + e.what());
  }
  if (counting) options_.metrics->BodyReceived(counting->bytes());
  if (answer) co_return std::move(*answer);
  co_return ErrorResponse(failure, req.request_id);
}

asio::awaitable<Response> Pipeline::Handle(Request& req, std::string_view target) const {
  Admission a = co_await Admit(req, target);
  Response resp;
  if (a.response) {
    resp = std::move(*a.response);
  } else if (a.route->options.body != BodyMode::kStream &&
             req.body.size() > static_cast<uint64_t>(a.body_limit)) {
    resp = ErrorResponse(BodyTooLargeError(a.body_limit), req.request_id);
  } else {
    resp = co_await Run(req, *a.route);
  }
  Finish(req, resp);
  Record(a.route, resp.status, resp.body.size(), 0.0);
  co_return resp;
}

void Pipeline::Finish(const Request& req, Response& resp) {
  resp.headers.Set("X-Request-Id", req.request_id);
}

}  // namespace nexus::gateway
