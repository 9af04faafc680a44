#include "gateway/s3/s3_handler.h"

#include <spdlog/spdlog.h>

#include "gateway/s3/s3_address.h"
#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"
#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

S3Error NotImplemented(std::string what) {
  return MakeS3Error(501, "NotImplemented", what + " is not implemented yet.");
}

// Query parameters that name no sub-resource: a presigned URL's
// X-Amz-* (its signature is checked by then), the x-id=<operation> the AWS
// SDKs add to every request, and versionId=null, the one version each
// object of an unversioned bucket has (ListObjectVersions names it).
bool IsBookkeeping(std::string_view name, std::string_view value) {
  return name == "x-id" || name.starts_with("X-Amz-") || (name == "versionId" && value == "null");
}

// The first query parameter naming a sub-resource (?acl, ?tagging, ...);
// nullptr when there is none.
const std::string* SubResource(const Request& req) {
  for (const auto& [name, value] : req.query) {
    if (!IsBookkeeping(name, value)) return &name;
  }
  return nullptr;
}

asio::awaitable<Response> Dispatch(S3Call& call) {
  const Request& req = call.req;
  const std::string& m = req.method;
  const std::string* sub_resource = SubResource(req);
  if (call.bucket.empty()) {
    if (m == "GET") co_return co_await ListBuckets(call);
    co_return Fail(call, MakeS3Error(405, "MethodNotAllowed",
                                     "The specified method is not allowed against this resource."));
  }
  const bool uploads = req.QueryParam("uploads") || req.QueryParam("uploadId");
  if (uploads) {
    const bool id = req.QueryParam("uploadId") != nullptr;
    if (call.key.empty() && m == "GET" && !id) co_return co_await ListMultipartUploads(call);
    if (!call.key.empty() && m == "POST" && !id) co_return co_await CreateMultipartUpload(call);
    if (!call.key.empty() && m == "PUT" && id) {
      if (req.headers.Has("x-amz-copy-source")) co_return co_await UploadPartCopy(call);
      co_return co_await UploadPart(call);
    }
    if (!call.key.empty() && m == "POST" && id) co_return co_await CompleteMultipartUpload(call);
    if (!call.key.empty() && m == "DELETE" && id) co_return co_await AbortMultipartUpload(call);
    if (!call.key.empty() && m == "GET" && id) co_return co_await ListParts(call);
    co_return Fail(call, MakeS3Error(405, "MethodNotAllowed",
                                     "The specified method is not allowed against this "
                                     "resource."));
  }
  if (call.key.empty()) {
    if (m == "POST" && req.QueryParam("delete")) co_return co_await DeleteObjects(call);
    if (m == "PUT" && !sub_resource) co_return co_await CreateBucket(call);
    if (m == "HEAD") co_return co_await HeadBucket(call);
    if (m == "DELETE" && !sub_resource) co_return co_await DeleteBucket(call);
    if (m == "GET") {
      if (req.QueryParam("location")) co_return co_await GetBucketLocation(call);
      if (req.QueryParam("versioning")) co_return co_await GetBucketVersioning(call);
      const bool versions = req.QueryParam("versions") != nullptr;
      const std::string* type = req.QueryParam("list-type");
      const ListKind kind = versions                 ? ListKind::kVersions
                            : (type && *type == "2") ? ListKind::kV2
                                                     : ListKind::kV1;
      // Any other sub-resource (?acl, ?policy, ...).
      for (const auto& [name, value] : req.query) {
        if (IsBookkeeping(name, value)) continue;
        static constexpr std::string_view kListParams[] = {
            "prefix",        "delimiter", "max-keys",           "marker",
            "encoding-type", "list-type", "continuation-token", "start-after",
            "fetch-owner",   "versions",  "key-marker",         "version-id-marker"};
        if (std::find(std::begin(kListParams), std::end(kListParams), name) ==
            std::end(kListParams)) {
          co_return Fail(call, NotImplemented("The bucket sub-resource '" + name + "'"));
        }
      }
      co_return co_await ListObjects(call, kind);
    }
    co_return Fail(call, NotImplemented(m + " on a bucket"));
  }
  if (const std::string* version = req.QueryParam("versionId"); version && *version != "null") {
    // No bucket keeps versions: no other version id names anything.
    co_return Fail(call, MakeS3Error(400, "InvalidArgument", "Invalid version id specified"));
  }
  if (sub_resource && m != "GET" && m != "HEAD") {
    co_return Fail(call, NotImplemented("The object sub-resource '" + *sub_resource + "'"));
  }
  if (m == "PUT") {
    if (req.headers.Has("x-amz-copy-source")) co_return co_await CopyObject(call);
    co_return co_await PutObject(call);
  }
  if (m == "GET") co_return co_await GetObject(call);
  if (m == "HEAD") co_return co_await HeadObject(call);
  if (m == "DELETE") co_return co_await DeleteObject(call);
  co_return Fail(call, NotImplemented(m + " on an object"));
}

asio::awaitable<Result<Response>> Handle(AuthClient& auth, DaemonClient& daemon, const Clock& clock,
                                         const S3Settings& settings, Request& req) {
  S3Address address = AddressOf(req.headers.Get("Host"), req.path, settings.domain);
  S3Call call{req, daemon,         "", "", std::move(address.bucket), std::move(address.key),
              "",  settings.region};
  std::variant<SigV4Auth, S3Error> parsed = ParseSigV4(
      SigV4Request{req.method, req.target, req.headers}, settings.region, clock.NowSeconds());
  if (auto* e = std::get_if<S3Error>(&parsed)) co_return Fail(call, *e);
  const SigV4Auth& sig = std::get<SigV4Auth>(parsed);

  authpb::GetS3KeySecretRequest lookup;
  lookup.set_access_key(sig.access_key);
  Result<authpb::S3KeySecret> key = co_await auth.GetS3KeySecret(std::move(lookup));
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) {
      co_return Fail(call, MakeS3Error(403, "InvalidAccessKeyId",
                                       "The AWS Access Key Id you provided does not exist in "
                                       "our records."));
    }
    co_return Fail(call, ErrorOf(key.status(), NoSuchKey()));
  }
  if (!VerifySigV4(sig, key->secret_key())) {
    co_return Fail(call, MakeS3Error(403, "SignatureDoesNotMatch",
                                     "The request signature we calculated does not match the "
                                     "signature you provided. Check your key and signing "
                                     "method."));
  }
  if (sig.payload_hash.starts_with("STREAMING-")) {
    ChunkSigning signing{
        SigningKey(key->secret_key(), sig.date, sig.region, sig.service), sig.amz_date,
        sig.date + "/" + sig.region + "/" + sig.service + "/aws4_request", sig.signature};
    if (sig.payload_hash == kStreamingPayload) {
      call.chunked = ChunkedBody{std::move(signing), false};
    } else if (sig.payload_hash == kStreamingPayloadTrailer) {
      call.chunked = ChunkedBody{std::move(signing), true};
    } else if (sig.payload_hash == kStreamingUnsignedTrailer) {
      call.chunked = ChunkedBody{std::nullopt, true};
    } else {
      co_return Fail(call, NotImplemented("An aws-chunked body of kind " + sig.payload_hash));
    }
  }
  call.owner = key->username();
  call.owner_id = key->user_id();
  call.payload_hash = sig.payload_hash;
  req.principal = Principal{key->username(), key->user_id(), key->email(), key->created_at()};
  co_return co_await Dispatch(call);
}

}  // namespace

Response Fail(const S3Call& call, const S3Error& error) {
  return ErrorResponse(error, call.req.method, call.req.path, call.req.request_id);
}

S3Error NoSuchBucket() {
  return MakeS3Error(404, "NoSuchBucket", "The specified bucket does not exist");
}

S3Error NoSuchKey() { return MakeS3Error(404, "NoSuchKey", "The specified key does not exist."); }

S3Error ErrorOf(const Status& status, const S3Error& not_found) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return not_found;
    case StatusCode::kInvalidArgument:
      return MakeS3Error(400, "InvalidArgument", status.message());
    case StatusCode::kAlreadyExists:
      return MakeS3Error(409, "XNexusParentIsObject", status.message());
    case StatusCode::kPermissionDenied:
      return MakeS3Error(403, "AccessDenied", "Access Denied");
    case StatusCode::kQuotaExceeded:
      return MakeS3Error(403, "QuotaExceeded", "The storage quota of this account is used up.");
    case StatusCode::kRateLimited:
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return MakeS3Error(503, "ServiceUnavailable", "Please reduce your request rate.");
    default:
      spdlog::warn("s3: backend error: {}", status.ToString());
      return MakeS3Error(500, "InternalError",
                         "We encountered an internal error. Please try again.");
  }
}

asio::awaitable<Result<std::string>> ReadSmallBody(Request& req, size_t max) {
  std::string body = req.body;
  if (!req.body_reader) co_return body;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    NEXUS_CO_ASSIGN_OR_RETURN(size_t n, co_await req.body_reader->Read(std::span<char>(buf)));
    if (n == 0) break;
    body.append(buf.data(), n);
    if (body.size() > max) co_return InvalidArgumentError("body too large");
  }
  co_return body;
}

std::string BucketPath(const S3Call& call) { return "/" + call.bucket; }

std::string ObjectPath(const S3Call& call) { return "/" + call.bucket + "/" + call.key; }

asio::awaitable<Result<std::optional<daemonpb::DirEntry>>> StatEntry(DaemonClient& daemon,
                                                                     const std::string& owner,
                                                                     const std::string& path) {
  daemonpb::StatPathRequest stat;
  stat.set_owner(owner);
  stat.set_path(path);
  Result<daemonpb::DirEntry> e = co_await daemon.StatPath(std::move(stat));
  if (e.ok()) co_return std::optional<daemonpb::DirEntry>(std::move(e).value());
  if (e.status().code() == StatusCode::kNotFound) co_return std::optional<daemonpb::DirEntry>();
  co_return e.status();
}

bool IsFolder(const daemonpb::DirEntry& e) { return e.type() == "folder"; }

asio::awaitable<std::optional<S3Error>> CheckBucket(S3Call& call) {
  Result<std::optional<daemonpb::DirEntry>> b =
      co_await StatEntry(call.daemon, call.owner, BucketPath(call));
  if (!b.ok()) co_return ErrorOf(b.status(), NoSuchBucket());
  if (!*b || !IsFolder(**b)) co_return NoSuchBucket();
  co_return std::nullopt;
}

std::string EtagOf(std::string_view s3_etag, std::string_view sha256) {
  if (!s3_etag.empty()) return "\"" + std::string(s3_etag) + "\"";
  return "\"" + std::string(sha256.substr(0, 32)) + "-1\"";
}

std::string EtagOf(const daemonpb::DirEntry& e) { return EtagOf(e.s3_etag(), e.sha256()); }

void RegisterS3Routes(Router& router, AuthClient& auth, DaemonClient& daemon, const Clock& clock,
                      S3Settings settings) {
  // Unauthenticated for the pipeline: the handler checks the signature.
  router.AddPrefix("/", RouteOptions{BodyMode::kStream, false},
                   [&auth, &daemon, &clock, settings](Request& req) {
                     return Handle(auth, daemon, clock, settings, req);
                   });
}

}  // namespace nexus::gateway::s3
