// An HTTP client of one Nexus gateway over libcurl: JSON calls, and uploads
// and downloads that stream between a local file descriptor and the socket
// (a block at a time, never the whole body in memory, so a 10 GiB file costs
// what a 1 KiB one does).
//
// Every non-2xx answer becomes a Status carrying the server's `error` text
// (http_errors.h). A transfer polls InterruptRequested() between blocks: on
// Ctrl-C curl drops the connection mid-body, so the server never commits a
// partial upload, and the call answers InterruptedError.
//
// One HttpClient owns one curl easy handle (and its kept-alive connection):
// not thread-safe; give each thread its own. curl_global_init must have run.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace nexus::cli {

// Told how far a transfer is. `total` is 0 while unknown. Called on the
// transferring thread, often (every block): keep it cheap.
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  virtual void OnProgress(uint64_t done, uint64_t total) = 0;
};

// "/api/fs/ls" plus "?path=%2Fa%20b&..." with every value percent-encoded.
std::string WithQuery(std::string_view path,
                      const std::vector<std::pair<std::string, std::string>>& query);

// "127.0.0.1:8080" -> "http://127.0.0.1:8080"; a trailing "/" is dropped.
std::string NormalizeServerUrl(std::string_view server);

class HttpClient {
 public:
  // `token` may be empty (the /auth routes need none).
  HttpClient(std::string server_url, std::string token);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const std::string& server_url() const { return server_url_; }

  // `method` `target` with `body` as JSON (none when null); the answer parsed
  // as JSON (null for an empty body).
  Result<nlohmann::json> Call(std::string_view method, std::string_view target,
                              const nlohmann::json* body = nullptr);

  // A multipart upload of the file open at `fd` (its size known, read from
  // its current offset) as the form part `file` named `filename`; the answer
  // parsed as JSON.
  Result<nlohmann::json> Upload(std::string_view target, int fd, uint64_t size,
                                const std::string& filename, TransferObserver* observer);

  // GET `target`, its body written to `out_fd` (only a 2xx body; an error's
  // body becomes the Status).
  Status Download(std::string_view target, int out_fd, TransferObserver* observer);

  // One request's state, seen by curl's callbacks (defined in the .cc).
  struct Exchange;

 private:
  Status Perform(std::string_view method, std::string_view target, Exchange& exchange);

  std::string server_url_;
  std::string token_;
  void* curl_;  // CURL*, kept opaque so callers need not include curl.h
};

}  // namespace nexus::cli
