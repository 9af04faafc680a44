#include "daemon/storage/s3_chunk_store.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "common/percent_encode.h"
#include "common/sha256.h"

#if LIBCURL_VERSION_NUM < 0x074b00
#error "the S3 chunk store needs libcurl 7.75 or later (CURLOPT_AWS_SIGV4)"
#endif

namespace nexus::daemon::storage {
namespace {

constexpr std::string_view kScheme = "s3://";
// SHA-256 of nothing: the signed payload hash of a request without a body.
constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxErrorBody = 64 << 10;  // an error document, not a chunk
constexpr size_t kMaxIdleHandles = 16;
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

Status CheckHash(const std::string& hash) {
  if (!IsSha256Hex(hash)) return InvalidArgumentError("invalid chunk hash '" + hash + "'");
  return Status::Ok();
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  return std::all_of(b.begin(), b.end(), [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

// Object keys are built from it: plain segments only, no "." or "..".
bool ValidPrefix(std::string_view p) {
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = std::min(p.find('/', start), p.size());
    const std::string_view seg = p.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

Status BadUrl(std::string_view url, const std::string& why) {
  return InvalidArgumentError("storage.chunks '" + std::string(url) + "': " + why);
}

std::string DecodeXmlEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s.substr(i, 2) == "&#") {  // &#39; and the like: ASCII is all an error text needs
      const size_t semi = s.find(';', i);
      int code = 0;
      bool digits = semi != std::string_view::npos && semi > i + 2 && semi - i <= 5;
      for (size_t j = i + 2; digits && j < semi; ++j) {
        digits = s[j] >= '0' && s[j] <= '9';
        code = code * 10 + (s[j] - '0');
      }
      if (digits && code > 0 && code < 128) {
        out += static_cast<char>(code);
        i = semi + 1;
        continue;
      }
    }
    if (s[i] == '&') {
      for (const auto& [name, ch] : kEntities) {
        if (s.substr(i, name.size()) == name) {
          out += ch;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

std::once_flag curl_init_once;

}  // namespace

// ---- parsing and mapping ---------------------------------------------------

Result<S3Location> ParseS3ChunksUrl(std::string_view url) {
  if (!url.starts_with(kScheme)) {
    return BadUrl(url, "not \"fs\" nor s3://<bucket>?endpoint=<url>&region=<region>");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t q = rest.find('?');
  const std::string_view path = rest.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);

  S3Location loc;
  const size_t slash = path.find('/');
  loc.bucket = std::string(path.substr(0, slash));
  if (loc.bucket.empty()) return BadUrl(url, "names no bucket (s3://<bucket>?endpoint=...)");
  if (!ValidBucket(loc.bucket)) {
    return BadUrl(
        url, "bucket name '" + loc.bucket + "' must be 3-63 characters of a-z, 0-9, '.' and '-'");
  }
  if (slash != std::string_view::npos) {
    std::string_view prefix = path.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (!prefix.empty() && !ValidPrefix(prefix)) {
      return BadUrl(url, "key prefix '" + std::string(prefix) +
                             "' must be '/'-separated segments of A-Z, a-z, 0-9, '-', '_', '.'");
    }
    loc.prefix = std::string(prefix);
  }

  std::string endpoint;
  size_t start = 0;
  while (start < query.size()) {
    const size_t end = std::min(query.find('&', start), query.size());
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string name(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) return BadUrl(url, "parameter '" + name + "' has a bad %-escape");
    if (name == "endpoint") {
      endpoint = *value;
    } else if (name == "region") {
      loc.region = *value;
    } else {
      return BadUrl(url, "unknown parameter '" + name + "' (known: endpoint, region)");
    }
  }
  if (endpoint.empty()) {
    return BadUrl(url, "has no endpoint (add ?endpoint=http://127.0.0.1:9000)");
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const bool http = endpoint.starts_with("http://"), https = endpoint.starts_with("https://");
  const size_t host_at = http ? 7 : 8;
  if ((!http && !https) || endpoint.size() <= host_at) {
    return BadUrl(url, "endpoint '" + endpoint + "' must be http://host[:port] or https://...");
  }
  if (endpoint.find_first_of("/?#@", host_at) != std::string::npos) {
    return BadUrl(url, "endpoint '" + endpoint +
                           "' must be scheme://host[:port] alone (requests are path-style)");
  }
  loc.endpoint = endpoint;
  if (loc.region.empty() || !std::all_of(loc.region.begin(), loc.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      })) {
    return BadUrl(url, "region '" + loc.region + "' must be a-z, 0-9 and '-' (e.g. us-east-1)");
  }
  return loc;
}

std::string S3ChunkKey(const S3Location& location, const std::string& hash) {
  std::string key = location.prefix.empty() ? "" : location.prefix + "/";
  return key + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
}

std::optional<std::string> S3ChunkHashOfKey(const S3Location& location, std::string_view key) {
  const std::string head = location.prefix.empty() ? "" : location.prefix + "/";
  if (!key.starts_with(head)) return std::nullopt;
  key.remove_prefix(head.size());
  // "ab/cd/" + 64 hex
  if (key.size() != 6 + 64 || key[2] != '/' || key[5] != '/') return std::nullopt;
  const std::string hash(key.substr(6));
  if (!IsSha256Hex(hash) || key.substr(0, 2) != hash.substr(0, 2) ||
      key.substr(3, 2) != hash.substr(2, 2)) {
    return std::nullopt;
  }
  return hash;
}

bool S3IsRetryable(int curl_code, long http_status) {
  if (curl_code != 0) return true;
  return http_status >= 500 || http_status == 429;
}

std::optional<std::string> S3XmlText(std::string_view xml, std::string_view tag, size_t* from) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t start = xml.find(open, from ? *from : 0);
  if (start == std::string_view::npos) return std::nullopt;
  const size_t text_at = start + open.size();
  const size_t end = xml.find(close, text_at);
  if (end == std::string_view::npos) return std::nullopt;
  if (from) *from = end + close.size();
  return DecodeXmlEntities(xml.substr(text_at, end - text_at));
}

std::optional<std::time_t> ParseS3Time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional fraction, then 'Z'.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) -> int {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return ::timegm(&tm);
}

Status S3ErrorStatus(std::string_view operation, std::string_view key, long http_status,
                     std::string_view transport_error, std::string_view body) {
  const std::string what =
      "s3 chunk store: " + std::string(operation) + " '" + std::string(key) + "'";
  if (http_status == 0) return UnavailableError(what + ": " + std::string(transport_error));
  const std::string code = S3XmlText(body, "Code").value_or("");
  const std::string message = S3XmlText(body, "Message").value_or("");
  const std::string detail = "HTTP " + std::to_string(http_status) + (code.empty() ? "" : " ") +
                             code + (message.empty() ? "" : " (" + message + ")");
  if (http_status == 404) return NotFoundError(what + ": " + detail);
  if (http_status == 507) return InsufficientStorageError();
  if (http_status >= 500 || http_status == 429) return UnavailableError(what + ": " + detail);
  if (code == "XAmzContentSHA256Mismatch" || code == "BadDigest") {
    return InternalError(what + ": the server hashed the bytes sent to another SHA-256 (" + detail +
                         ")");
  }
  return UpstreamFailedError(what + ": " + detail);
}

Status S3ClientStatus(const Status& detailed) {
  switch (detailed.code()) {
    case StatusCode::kUnavailable:
      return UnavailableError("chunk store unavailable");
    case StatusCode::kUpstreamFailed:
      return UpstreamFailedError("chunk store refused a request");
    default:
      return detailed;
  }
}

Result<S3ChunkStoreOptions> S3ChunkStoreOptionsFromConfig(const StorageConfig& config) {
  S3ChunkStoreOptions options;
  NEXUS_ASSIGN_OR_RETURN(options.location, ParseS3ChunksUrl(config.chunks));
  if (config.s3_access_key.empty()) {
    return InvalidArgumentError(
        "storage.chunks is an s3:// URL but storage.s3_access_key is empty");
  }
  options.access_key = config.s3_access_key;
  if (!config.s3_secret_key_file.empty()) {
    const std::string& path = config.s3_secret_key_file;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return ErrnoError(StatusCode::kInvalidArgument, "storage.s3_secret_key_file '" + path + "'",
                        errno);
    }
    if ((st.st_mode & 077) != 0) {
      return InvalidArgumentError("storage.s3_secret_key_file '" + path +
                                  "' must not be readable by group or others (chmod 600)");
    }
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return InvalidArgumentError("storage.s3_secret_key_file '" + path + "' cannot be read");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    options.secret_key = line;
  } else {
    options.secret_key = config.s3_secret_key;
  }
  if (options.secret_key.empty()) {
    return InvalidArgumentError(
        "storage.chunks is an s3:// URL but neither storage.s3_secret_key nor "
        "storage.s3_secret_key_file gives a secret");
  }
  options.sweep_grace = std::chrono::seconds(config.s3_sweep_grace_seconds);
  options.max_attempts = static_cast<int>(config.s3_max_attempts);
  return options;
}

// ---- one HTTP exchange -----------------------------------------------------

struct S3ChunkStore::Exchange {
  std::string method;  // GET, PUT, HEAD, DELETE
  std::string key;     // the object; empty for the bucket itself
  std::string query;   // already in SigV4's canonical form (sorted, encoded)
  const char* payload_sha256 = kEmptySha256;

  // PUT: the body, and where the read callback is in it.
  std::span<const std::string_view> pieces;
  uint64_t body_size = 0;
  size_t piece = 0;
  size_t piece_offset = 0;

  // A successful response's body goes into `into` when set (exactly its
  // size; more is an overflow), else into `body`; `hash_body` hashes it too.
  std::optional<std::span<char>> into;
  bool hash_body = false;

  // Outcome of the last attempt.
  void* curl = nullptr;
  long http_status = 0;
  int curl_code = 0;
  std::string transport_error;
  std::string body;  // the response body, or the error document
  size_t received = 0;
  int64_t content_length = -1;  // the response's, when it said
  bool overflow = false;
  std::optional<Sha256> sha;

  bool succeeded() const { return curl_code == 0 && http_status >= 200 && http_status < 300; }
  // The object, or for a request on the bucket (a listing) its query.
  std::string target() const { return key.empty() ? "?" + query : key; }
  Status Error() const {
    return S3ErrorStatus(method, target(), http_status, transport_error, body);
  }
  // Error() for the caller, logged with what failed where. A 502 or 503
  // reaches the client with its message, which must name neither the store's
  // address nor the object: those stay in the log.
  Status LoggedError() const {
    Status s = Error();
    if (IsInsufficientStorage(s)) {
      spdlog::error("s3 chunk store: {} '{}': HTTP 507 {}", method, target(),
                    S3XmlText(body, "Code").value_or(""));
    } else {
      spdlog::error("{}", s.message());
    }
    return S3ClientStatus(s);
  }
};

namespace {

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<S3ChunkStore::Exchange*>(user);
  const size_t len = size * n;
  if (ex->http_status == 0) curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &ex->http_status);
  const bool ok = ex->http_status >= 200 && ex->http_status < 300;
  if (!ok) {
    if (ex->body.size() < kMaxErrorBody) {
      ex->body.append(data, std::min(len, kMaxErrorBody - ex->body.size()));
    }
    return len;
  }
  if (ex->into) {
    if (ex->received + len > ex->into->size()) {
      ex->overflow = true;
      return 0;  // aborts the transfer: a chunk of another size
    }
    std::memcpy(ex->into->data() + ex->received, data, len);
  } else {
    ex->body.append(data, len);
  }
  // Hashed as it arrives, so verifying costs no second pass over the chunk.
  if (ex->hash_body) ex->sha->Update(std::string_view(data, len));
  ex->received += len;
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* ex = static_cast<S3ChunkStore::Exchange*>(user);
  const size_t room = size * n;
  size_t done = 0;
  while (done < room && ex->piece < ex->pieces.size()) {
    const std::string_view p = ex->pieces[ex->piece];
    const size_t take = std::min(room - done, p.size() - ex->piece_offset);
    std::memcpy(buffer + done, p.data() + ex->piece_offset, take);
    done += take;
    ex->piece_offset += take;
    if (ex->piece_offset == p.size()) {
      ++ex->piece;
      ex->piece_offset = 0;
    }
  }
  return done;
}

// libcurl rewinds the body when it resends a request (a reused connection
// the server had closed).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* ex = static_cast<S3ChunkStore::Exchange*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > ex->body_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  ex->piece = 0;
  ex->piece_offset = 0;
  auto left = static_cast<uint64_t>(offset);
  while (ex->piece < ex->pieces.size() && left >= ex->pieces[ex->piece].size()) {
    left -= ex->pieces[ex->piece].size();
    ++ex->piece;
  }
  ex->piece_offset = static_cast<size_t>(left);
  return CURL_SEEKFUNC_OK;
}

std::chrono::milliseconds Backoff(std::chrono::milliseconds first, int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  auto wait = first * (int64_t{1} << std::min(attempt - 1, 16));
  wait = std::min<std::chrono::milliseconds>(wait, kMaxBackoff);
  // Jitter, so daemons that failed together do not retry in step.
  std::uniform_int_distribution<int64_t> half(wait.count() / 2, wait.count());
  return std::chrono::milliseconds(half(rng));
}

}  // namespace

// ---- the store -------------------------------------------------------------

S3ChunkStore::S3ChunkStore(S3ChunkStoreOptions options)
    : options_(std::move(options)), sigv4_("aws:amz:" + options_.location.region + ":s3") {}

S3ChunkStore::~S3ChunkStore() {
  for (void* curl : idle_) curl_easy_cleanup(static_cast<CURL*>(curl));
}

Result<std::unique_ptr<S3ChunkStore>> S3ChunkStore::Open(S3ChunkStoreOptions options) {
  if (options.max_attempts < 1) return InvalidArgumentError("s3 max attempts must be at least 1");
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  spdlog::info("chunk store: s3 bucket '{}' at {} (region {}, key prefix '{}')",
               options.location.bucket, options.location.endpoint, options.location.region,
               options.location.prefix);
  return std::unique_ptr<S3ChunkStore>(new S3ChunkStore(std::move(options)));
}

void* S3ChunkStore::Acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_.empty()) {
      void* curl = idle_.back();
      idle_.pop_back();
      return curl;
    }
  }
  return curl_easy_init();
}

void S3ChunkStore::Release(void* curl) {
  {
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(curl);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(curl));
}

void S3ChunkStore::PerformOnce(void* handle, Exchange& ex) {
  CURL* curl = static_cast<CURL*>(handle);
  // Reset keeps the handle's live connections: the point of the pool.
  curl_easy_reset(curl);
  const S3Location& loc = options_.location;
  std::string url = loc.endpoint + "/" + loc.bucket;
  if (!ex.key.empty()) url += "/" + PercentEncode(ex.key, true);
  if (!ex.query.empty()) url += "?" + ex.query;

  curl_slist* headers = nullptr;
  const std::string sha_header = std::string("x-amz-content-sha256: ") + ex.payload_sha256;
  headers = curl_slist_append(headers, sha_header.c_str());
  // No "Expect:" to turn 100-continue off: libcurl 7.88 would sign the
  // removed header, and the server would refuse a signature over a header
  // it never got.
  char error[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  // A stalled server, not a slow one: below 1 KiB/s for 30 s ends the attempt.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex);
  if (ex.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &ex);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &ex);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(ex.body_size));
  } else if (ex.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (ex.method == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  }

  ex.curl = curl;
  ex.http_status = 0;
  ex.body.clear();
  ex.received = 0;
  ex.overflow = false;
  ex.piece = 0;
  ex.piece_offset = 0;
  if (ex.hash_body) ex.sha.emplace();
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  ex.http_status = status;
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  ex.content_length = length;
  ex.curl_code = rc;
  ex.transport_error = rc == CURLE_OK ? "" : (error[0] ? error : curl_easy_strerror(rc));
  // An answer that arrived whole is the server's, even if libcurl then
  // failed on something else; an aborted body of ours is no transport error.
  if (ex.overflow) ex.curl_code = 0;
  ex.curl = nullptr;
}

void S3ChunkStore::Perform(Exchange& ex) {
  for (int attempt = 1;; ++attempt) {
    void* curl = Acquire();
    PerformOnce(curl, ex);
    Release(curl);
    if (ex.succeeded() || ex.overflow) return;
    if (!S3IsRetryable(ex.curl_code, ex.http_status) || attempt >= options_.max_attempts) return;
    const auto wait = Backoff(options_.first_backoff, attempt);
    spdlog::warn("s3 chunk store: {} '{}' attempt {}/{} failed ({}); retrying in {} ms", ex.method,
                 ex.target(), attempt, options_.max_attempts,
                 ex.curl_code != 0 ? ex.transport_error : "HTTP " + std::to_string(ex.http_status),
                 wait.count());
    std::this_thread::sleep_for(wait);
  }
}

Result<bool> S3ChunkStore::Put(const std::string& hash, std::string_view bytes) {
  return PutPieces(hash, std::span<const std::string_view>(&bytes, 1));
}

Result<bool> S3ChunkStore::PutPieces(const std::string& hash,
                                     std::span<const std::string_view> pieces) {
  NEXUS_ASSIGN_OR_RETURN(bool present, Has(hash));
  if (present) return false;
  Exchange ex;
  ex.method = "PUT";
  ex.key = S3ChunkKey(options_.location, hash);
  // The chunk's hash is the SHA-256 of its bytes: the signed payload hash,
  // which the server checks against what it received.
  ex.payload_sha256 = hash.c_str();
  ex.pieces = pieces;
  for (std::string_view p : pieces) ex.body_size += p.size();
  Perform(ex);
  if (!ex.succeeded()) {
    return ex.LoggedError();
  }
  return true;
}

Result<bool> S3ChunkStore::Has(const std::string& hash) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  Exchange ex;
  ex.method = "HEAD";
  ex.key = S3ChunkKey(options_.location, hash);
  Perform(ex);
  if (ex.succeeded()) return true;
  if (ex.curl_code == 0 && ex.http_status == 404) return false;
  return ex.LoggedError();
}

Status S3ChunkStore::Fetch(const std::string& hash, Exchange& ex) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  ex.method = "GET";
  ex.key = S3ChunkKey(options_.location, hash);
  ex.hash_body = true;
  Perform(ex);
  if (ex.overflow) {
    return ChunkSizeMismatch(
        hash, ex.content_length > 0 ? static_cast<uint64_t>(ex.content_length) : ex.received + 1,
        ex.into->size());
  }
  if (!ex.succeeded()) {
    if (ex.curl_code == 0 && ex.http_status == 404) {
      return NotFoundError("chunk " + hash + " not found");
    }
    return ex.LoggedError();
  }
  if (ex.into && ex.received != ex.into->size()) {
    return ChunkSizeMismatch(hash, ex.received, ex.into->size());
  }
  const std::string actual = ToHex(ex.sha->Finish());
  if (actual != hash) {
    return InternalError("chunk " + hash + " is corrupt: its content hashes to " + actual);
  }
  return Status::Ok();
}

Result<std::string> S3ChunkStore::Get(const std::string& hash) {
  Exchange ex;
  NEXUS_RETURN_IF_ERROR(Fetch(hash, ex));
  return std::move(ex.body);
}

Status S3ChunkStore::ReadInto(const std::string& hash, std::span<char> out) {
  Exchange ex;
  ex.into = out;
  return Fetch(hash, ex);
}

Status S3ChunkStore::Remove(const std::string& hash) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  Exchange ex;
  ex.method = "DELETE";
  ex.key = S3ChunkKey(options_.location, hash);
  Perform(ex);
  if (ex.succeeded() || (ex.curl_code == 0 && ex.http_status == 404)) return Status::Ok();
  return ex.LoggedError();
}

Status S3ChunkStore::ListPage(
    std::string* token, const std::function<void(std::string_view key, std::time_t modified)>& fn) {
  Exchange ex;
  ex.method = "GET";
  // Sorted by name, encoded as SigV4 canonicalises them.
  if (!token->empty()) ex.query = "continuation-token=" + PercentEncode(*token, false) + "&";
  ex.query += "list-type=2";
  if (!options_.location.prefix.empty()) {
    ex.query += "&prefix=" + PercentEncode(options_.location.prefix + "/", false);
  }
  Perform(ex);
  if (!ex.succeeded()) return ex.LoggedError().WithContext("list chunks");
  const std::string_view xml = ex.body;
  size_t at = 0;
  for (;;) {
    const size_t open = xml.find("<Contents>", at);
    if (open == std::string_view::npos) break;
    const size_t close = xml.find("</Contents>", open);
    if (close == std::string_view::npos) break;
    const std::string_view entry = xml.substr(open, close - open);
    at = close;
    std::optional<std::string> key = S3XmlText(entry, "Key");
    if (!key) continue;
    const std::optional<std::time_t> modified =
        ParseS3Time(S3XmlText(entry, "LastModified").value_or(""));
    // No usable time: treated as new, so Sweep never takes it.
    fn(*key, modified.value_or(std::numeric_limits<std::time_t>::max()));
  }
  token->clear();
  if (S3XmlText(xml, "IsTruncated").value_or("false") == "true") {
    *token = S3XmlText(xml, "NextContinuationToken").value_or("");
    if (token->empty()) {
      return UpstreamFailedError(
          "s3 chunk store: list chunks: a truncated page without NextContinuationToken");
    }
  }
  return Status::Ok();
}

Status S3ChunkStore::List(const std::function<void(const std::string& hash)>& fn) {
  std::string token;
  do {
    NEXUS_RETURN_IF_ERROR(ListPage(&token, [&](std::string_view key, std::time_t) {
      if (auto hash = S3ChunkHashOfKey(options_.location, key)) fn(*hash);
    }));
  } while (!token.empty());
  return Status::Ok();
}

Result<SweepStats> S3ChunkStore::Sweep(const std::function<bool(const std::string& hash)>& keep) {
  SweepStats stats;
  const std::time_t now = std::time(nullptr);
  const auto grace = static_cast<std::time_t>(options_.sweep_grace.count());
  // Deleted page by page, while the removals `keep` claimed for them are
  // young (a claim lapses after minutes, chunk_lease_table.h; a whole
  // bucket's listing may take longer). Deleting keys already listed does
  // not disturb the pages after them: S3's continuation token, like the
  // start-after key, resumes after the last key returned.
  std::vector<std::string> doomed;
  int64_t young = 0;
  std::string token;
  do {
    NEXUS_RETURN_IF_ERROR(ListPage(&token, [&](std::string_view key, std::time_t modified) {
      std::optional<std::string> hash = S3ChunkHashOfKey(options_.location, key);
      if (!hash) return;  // not ours: left alone
      if (modified > now || now - modified < grace) {
        // Perhaps another daemon's upload in flight: a later sweep decides.
        // Not asked about at all: `keep` may claim what it answers false for.
        ++stats.chunks_kept;
        ++young;
      } else if (keep(*hash)) {
        ++stats.chunks_kept;
      } else {
        doomed.push_back(std::move(*hash));
      }
    }));
    for (const std::string& hash : doomed) {
      NEXUS_RETURN_IF_ERROR(Remove(hash));
      ++stats.chunks_removed;
    }
    doomed.clear();
  } while (!token.empty());
  if (young > 0) {
    spdlog::info("s3 chunk store: sweep left {} chunks younger than {} s alone", young, grace);
  }
  return stats;
}

}  // namespace nexus::daemon::storage
