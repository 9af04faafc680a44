#include "cli/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/errors.h"
#include "cli/interrupt.h"
#include "common/percent_encode.h"

namespace nexus::cli {
namespace {

// JSON answers and error bodies are small; anything beyond this is not one.
constexpr size_t kMaxBufferedBody = 16 << 20;
// Larger buffers than curl's defaults (16 KiB / 64 KiB) cut the number of
// read/write calls per GiB; measured against `curl -F` / `curl -o` in bench/cli.sh.
constexpr long kDownloadBufferBytes = 512 * 1024;
constexpr long kUploadBufferBytes = 2 * 1024 * 1024;

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

struct CurlMime {
  curl_mime* mime = nullptr;
  ~CurlMime() { curl_mime_free(mime); }
};

}  // namespace

// One request's state, seen by curl's callbacks.
struct HttpClient::Exchange {
  std::string request_body;  // JSON calls
  int upload_fd = -1;        // multipart uploads
  uint64_t upload_size = 0;
  std::string upload_name;
  int download_fd = -1;  // downloads: a 2xx body goes here
  TransferObserver* observer = nullptr;

  long http_status = 0;
  std::string body;     // the answer, unless streamed to download_fd
  Status write_failed;  // a local write error, kept with its errno
  bool body_too_large = false;
  CURL* curl = nullptr;
};

namespace {

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<HttpClient::Exchange*>(user);
  const size_t n = size * count;
  if (ex->http_status == 0) curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &ex->http_status);
  const bool success = ex->http_status >= 200 && ex->http_status < 300;
  if (ex->download_fd >= 0 && success) {
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(ex->download_fd, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        ex->write_failed = ErrnoError(StatusCode::kInternal, "write the download", errno);
        return 0;  // curl stops with CURLE_WRITE_ERROR
      }
      done += static_cast<size_t>(w);
    }
    return n;
  }
  if (ex->body.size() + n > kMaxBufferedBody) {
    ex->body_too_large = true;
    return 0;
  }
  ex->body.append(data, n);
  return n;
}

size_t OnUploadRead(char* buffer, size_t size, size_t count, void* user) {
  auto* ex = static_cast<HttpClient::Exchange*>(user);
  if (InterruptRequested()) return CURL_READFUNC_ABORT;
  while (true) {
    ssize_t n = ::read(ex->upload_fd, buffer, size * count);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) {
      ex->write_failed = ErrnoError(StatusCode::kInternal, "read '" + ex->upload_name + "'", errno);
      return CURL_READFUNC_ABORT;
    }
    if (InterruptRequested()) return CURL_READFUNC_ABORT;
  }
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) {
  auto* ex = static_cast<HttpClient::Exchange*>(user);
  if (InterruptRequested()) return 1;  // curl aborts with CURLE_ABORTED_BY_CALLBACK
  if (ex->observer != nullptr) {
    if (ex->upload_fd >= 0) {
      // The multipart framing adds a few hundred bytes; show the file's bytes.
      uint64_t now = std::min<uint64_t>(static_cast<uint64_t>(ulnow), ex->upload_size);
      ex->observer->OnProgress(now, ex->upload_size);
    } else {
      ex->observer->OnProgress(static_cast<uint64_t>(dlnow), static_cast<uint64_t>(dltotal));
    }
  }
  return 0;
}

}  // namespace

std::string WithQuery(std::string_view path,
                      const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out(path);
  char sep = '?';
  for (const auto& [key, value] : query) {
    out += sep;
    out += PercentEncode(key);
    out += '=';
    out += PercentEncode(value);
    sep = '&';
  }
  return out;
}

std::string NormalizeServerUrl(std::string_view server) {
  std::string url(server);
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

HttpClient::HttpClient(std::string server_url, std::string token)
    : server_url_(NormalizeServerUrl(server_url)),
      token_(std::move(token)),
      curl_(curl_easy_init()) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Status HttpClient::Perform(std::string_view method, std::string_view target, Exchange& ex) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return InternalError("curl_easy_init failed");
  curl_easy_reset(curl);
  ex.curl = curl;
  const std::string url = server_url_ + std::string(target);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads; timeouts without SIGALRM
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ex);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kDownloadBufferBytes);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes);

  CurlSlist headers;
  if (!token_.empty()) headers.Add("Authorization: Bearer " + token_);
  headers.Add("Accept: application/json");
  // The gateway answers without a 100 Continue; curl would wait a second for one.
  headers.Add("Expect:");

  CurlMime mime;
  if (ex.upload_fd >= 0) {
    mime.mime = curl_mime_init(curl);
    curl_mimepart* part = curl_mime_addpart(mime.mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, ex.upload_name.c_str());
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data_cb(part, static_cast<curl_off_t>(ex.upload_size), &OnUploadRead, nullptr,
                      nullptr, &ex);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime.mime);
  } else if (method == "POST" || !ex.request_body.empty()) {
    if (!ex.request_body.empty()) headers.Add("Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, ex.request_body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(ex.request_body.size()));
  }
  if (method != "GET" && method != "POST") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ex.http_status);
  if (rc == CURLE_ABORTED_BY_CALLBACK || (rc != CURLE_OK && InterruptRequested())) {
    return InterruptedError(std::string(method) + " " + std::string(target));
  }
  if (!ex.write_failed.ok()) return ex.write_failed;
  if (ex.body_too_large) {
    return UpstreamFailedError("the answer to " + std::string(target) + " is too large");
  }
  if (rc != CURLE_OK) {
    return UnavailableError("cannot reach " + server_url_ + ": " + curl_easy_strerror(rc));
  }
  if (ex.http_status < 200 || ex.http_status >= 300) {
    Status s = StatusFromHttpError(ex.http_status, ex.body);
    if (ex.http_status == 401 && !token_.empty()) {
      s = Status(s.code(), s.message() + " (log in again: nexus login)");
    }
    return s;
  }
  return Status::Ok();
}

namespace {

Result<nlohmann::json> ParseAnswer(const std::string& body, std::string_view target) {
  if (body.empty()) return nlohmann::json();
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return UpstreamFailedError("the answer to " + std::string(target) + " is not JSON");
  }
  return j;
}

}  // namespace

Result<nlohmann::json> HttpClient::Call(std::string_view method, std::string_view target,
                                        const nlohmann::json* body) {
  Exchange ex;
  if (body != nullptr) ex.request_body = body->dump();
  NEXUS_RETURN_IF_ERROR(Perform(method, target, ex));
  return ParseAnswer(ex.body, target);
}

Result<nlohmann::json> HttpClient::Upload(std::string_view target, int fd, uint64_t size,
                                          const std::string& filename, TransferObserver* observer) {
  Exchange ex;
  ex.upload_fd = fd;
  ex.upload_size = size;
  ex.upload_name = filename;
  ex.observer = observer;
  NEXUS_RETURN_IF_ERROR(Perform("POST", target, ex));
  if (observer != nullptr) observer->OnProgress(size, size);
  return ParseAnswer(ex.body, target);
}

Status HttpClient::Download(std::string_view target, int out_fd, TransferObserver* observer) {
  Exchange ex;
  ex.download_fd = out_fd;
  ex.observer = observer;
  return Perform("GET", target, ex);
}

}  // namespace nexus::cli
