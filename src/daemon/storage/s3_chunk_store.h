// S3ChunkStore: the ChunkStore in a bucket of an S3-compatible server
// (AWS S3, MinIO, another Nexus's S3 listener), spoken to over libcurl with
// SigV4 and path-style URLs: <endpoint>/<bucket>/<prefix>/ab/cd/<hash>, the
// same fan-out as the fs store, so a listing of one prefix stays small.
//
// Put sends one PUT whose x-amz-content-sha256 is the chunk's hash (the
// chunk hash IS the SHA-256 of its bytes), so a server that checks the
// signed payload hash, as S3 and Nexus do, refuses bytes damaged on the way.
// A HEAD first skips the PUT of a chunk already stored: an existing chunk is
// never rewritten, and a dedup hit costs a round trip instead of the chunk's
// bytes. A PUT is durable when it answers, so Sync has nothing to do. Chunks
// are at most 256 MiB (the chunker's bound), far below S3's 5 GiB for one
// PUT: no multipart.
//
// Get and ReadInto stream the GET into the caller's buffer and hash it as it
// arrives: a 404 is kNotFound, bytes that do not match their hash (or their
// recorded size) kInternal naming the chunk.
//
// Every request is tried up to `max_attempts` times, with exponential
// backoff and jitter, after a network error, a 5xx or a 429 (SlowDown);
// never after another 4xx. Failures are logged naming the operation, the
// object key and the server's error code, never the credentials. A store
// that cannot be reached is kUnavailable (503), a server's refusal
// kUpstreamFailed (502), both with a message that names neither the store
// nor the object (it reaches the client); a 507 from the server is
// InsufficientStorageError().
//
// Sweep and several daemons: a bucket may be shared by daemons whose
// uploads are in flight at the same moment, and an object another daemon
// has just PUT is referenced by nothing this daemon knows of yet. So Sweep
// asks keep() only about an object whose LastModified (from the listing,
// the server's clock, against ours: keep the grace far above any skew) is at
// least `sweep_grace` old, and deletes it if rejected; younger ones are
// counted as kept and left to a later sweep. Upload sessions finish (or fail) well within the
// default hour. Remove deletes at once: FileService calls it only for a
// chunk its metadata no longer references, and, Remove being a round trip
// (RemoveIsCheap), leaves a deleted file's removals to its background thread.
//
// Thread-safe: requests on different threads run in parallel, each on a
// libcurl handle taken from a small pool, so connections are reused.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "daemon/storage/chunk_store.h"

namespace nexus::daemon::storage {

inline constexpr std::string_view kS3ChunkStore = "s3";

// Where the chunks go, from [storage] chunks =
// "s3://<bucket>[/<prefix>]?endpoint=<http(s)://host[:port]>[&region=<r>]".
struct S3Location {
  std::string endpoint;  // scheme://host[:port], no trailing '/'
  std::string bucket;
  std::string prefix = "chunks";  // no leading or trailing '/'; may be empty
  std::string region = "us-east-1";
};

// Parses the chunks URL; kInvalidArgument saying what is wrong (another
// scheme, no bucket, no endpoint, an unknown parameter).
Result<S3Location> ParseS3ChunksUrl(std::string_view url);

// The object key of chunk `hash` (a valid hash): <prefix>/ab/cd/<hash>.
std::string S3ChunkKey(const S3Location& location, const std::string& hash);

// The hash of a listed object key, or nullopt for a key that is not a chunk
// of this layout (left alone by Sweep and List).
std::optional<std::string> S3ChunkHashOfKey(const S3Location& location, std::string_view key);

// Whether an attempt that ended this way is worth another: a transport
// error (curl_code != 0), 5xx, or 429.
bool S3IsRetryable(int curl_code, long http_status);

// The Status of a finished exchange that did not succeed: `operation`
// ("PUT"), `key` the object, `http_status` 0 when there was no answer
// (then `transport_error` says why), `body` the server's error document.
Status S3ErrorStatus(std::string_view operation, std::string_view key, long http_status,
                     std::string_view transport_error, std::string_view body);

// What the store returns for a detailed S3ErrorStatus, after logging it:
// the same code, and for a 502 or 503 (whose message the client sees) a
// message that names neither the store's address nor the object.
Status S3ClientStatus(const Status& detailed);

// The text of the first <tag>…</tag> of `xml` at or after `*from` (XML
// entities decoded); moves *from past it. nullopt when there is none.
std::optional<std::string> S3XmlText(std::string_view xml, std::string_view tag,
                                     size_t* from = nullptr);

// An S3 timestamp ("2026-12-07T14:55:42.000Z") as seconds since the epoch.
std::optional<std::time_t> ParseS3Time(std::string_view text);

struct S3ChunkStoreOptions {
  S3Location location;
  std::string access_key;
  std::string secret_key;
  std::chrono::seconds sweep_grace{3600};
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{100};  // doubled per attempt, at most 5 s
};

// Reads [storage]'s S3 options: the URL, the access key, and the secret
// from s3_secret_key or the file s3_secret_key_file, which must not be
// readable by group or others.
Result<S3ChunkStoreOptions> S3ChunkStoreOptionsFromConfig(const StorageConfig& config);

class S3ChunkStore final : public ChunkStore {
 public:
  // Checks nothing on the network: the start-up sweep's listing is the
  // first request.
  static Result<std::unique_ptr<S3ChunkStore>> Open(S3ChunkStoreOptions options);
  ~S3ChunkStore() override;

  Result<bool> Put(const std::string& hash, std::string_view bytes) override;
  // Streams the pieces into the PUT: no joined copy.
  Result<bool> PutPieces(const std::string& hash,
                         std::span<const std::string_view> pieces) override;
  Result<bool> Has(const std::string& hash) override;
  Result<std::string> Get(const std::string& hash) override;
  Status ReadInto(const std::string& hash, std::span<char> out) override;
  Status Remove(const std::string& hash) override;
  bool RemoveIsCheap() const override { return false; }
  // A GET waits a round trip: a download keeps this many going.
  int ReadsInFlight() const override { return 4; }
  int WritesInFlight() const override { return 4; }
  Status List(const std::function<void(const std::string& hash)>& fn) override;
  Result<SweepStats> Sweep(const std::function<bool(const std::string& hash)>& keep) override;

  // One request and the outcome of its last attempt (s3_chunk_store.cc;
  // public only for libcurl's callbacks there).
  struct Exchange;

 private:
  explicit S3ChunkStore(S3ChunkStoreOptions options);

  // Runs `ex` with retries; its outcome is in ex (status, body).
  void Perform(Exchange& ex);
  // GETs chunk `hash` through `ex` (its body to ex.into when set, else to
  // ex.body) and checks the bytes against the hash (and ex.into's size).
  Status Fetch(const std::string& hash, Exchange& ex);
  // One attempt on one handle.
  void PerformOnce(void* curl, Exchange& ex);
  // One page of the listing: calls fn(key, last_modified) per object and
  // sets *token to the next page's continuation token (empty: last page).
  Status ListPage(std::string* token,
                  const std::function<void(std::string_view key, std::time_t modified)>& fn);
  // Takes an idle handle or makes one; Release gives it back.
  void* Acquire();
  void Release(void* curl);

  const S3ChunkStoreOptions options_;
  const std::string sigv4_;  // "aws:amz:<region>:s3"
  std::mutex pool_mu_;
  std::vector<void*> idle_;  // CURL*; guarded by pool_mu_
};

}  // namespace nexus::daemon::storage
