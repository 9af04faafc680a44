// Pipeline: everything between "a request head arrived" and "this is the
// response", as plain functions of a Request — no socket, no Beast.
//
// The session (session.cc) calls Admit on the head, reads the body within the
// limit Admit returned, then calls Run. Admit assigns the request id (unless
// the session did, to bind it to the connection first), parses
// the target, routes (404/405), checks body headers (413/415) and
// authenticates /api routes (401) before any body byte is read. Run calls the
// handler and maps a failed Status to its error response (error_mapping.h); a
// handler that throws becomes a logged 500. Handle does both for a request
// already in memory: how unit tests drive the whole gateway. With
// PipelineOptions::metrics set, the pipeline also counts what it sees
// (http_metrics.h): request body bytes in Run; in-flight requests, and each
// finished request, through TrackInFlight and Record, which the session
// calls because only it knows when a response's last byte went out.
// Holds references to the router and the auth client, which must outlive it.
// Const after construction; safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/backends/auth_client.h"
#include "gateway/http/http_types.h"
#include "gateway/http/router.h"
#include "gateway/metrics/http_metrics.h"

namespace nexus::gateway {

struct PipelineOptions {
  int64_t max_json_bytes = 64 * 1024;  // buffered body limit, unless the route sets its own
  HttpMetrics* metrics = nullptr;      // where requests are counted; none: not counted
};

class Pipeline {
 public:
  Pipeline(const Router& router, AuthClient& auth, PipelineOptions options);

  struct Admission {
    std::optional<Response> response;  // set: send this, run no handler
    const Route* route = nullptr;      // else: the route to Run
    int64_t body_limit = 0;            // bytes the session may buffer (not kStream)
  };

  // Phase one. req.method, headers, client_ip must be set; `target` is the
  // request target as received. An empty req.request_id is assigned here.
  asio::awaitable<Admission> Admit(Request& req, std::string_view target) const;

  // Phase two: req.body holds the body (or req.body_reader is set for a
  // kStream route). Never throws.
  asio::awaitable<Response> Run(Request& req, const Route& route) const;

  // Admit + Run for a request whose body is already in req.body, then Finish.
  asio::awaitable<Response> Handle(Request& req, std::string_view target) const;

  // Stamps what every response carries (X-Request-Id).
  static void Finish(const Request& req, Response& resp);

  // Counts a request as in flight while it lives.
  class InFlight {
   public:
    explicit InFlight(HttpMetrics* m) : m_(m) {
      if (m_) m_->RequestStarted();
    }
    ~InFlight() {
      if (m_) m_->RequestEnded();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    HttpMetrics* m_;
  };
  InFlight TrackInFlight() const { return InFlight(options_.metrics); }

  // Counts a request whose response has been sent: its admitted route
  // (nullptr when none was), status, response body bytes and duration.
  void Record(const Route* route, int status, uint64_t bytes_sent, double seconds) const {
    if (options_.metrics) options_.metrics->RequestFinished(route, status, bytes_sent, seconds);
  }
  // Counts a request refused before it could be admitted (its head was
  // malformed or too large), once the refusal was sent.
  void RecordRefused(int status, uint64_t bytes_sent, double seconds) const {
    if (options_.metrics) options_.metrics->RequestRefused(status, bytes_sent, seconds);
  }

  const PipelineOptions& options() const { return options_; }

 private:
  const Router& router_;
  AuthClient& auth_;
  PipelineOptions options_;
};

}  // namespace nexus::gateway
