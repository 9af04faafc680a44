// The object operations. A PUT streams its body straight into an UploadFile
// call, hashing it on the way: MD5 always (the object's ETag, sent to nexusd
// after the bytes; checked against a Content-MD5), SHA-256 when the client
// signed the payload's hash. A mismatch drops the call unfinished, so
// nexusd keeps nothing. A GET streams through the same download path as
// /api/fs/download. A copy is CopyPath: metadata only, on shared chunks.
// Content-Type and x-amz-meta-* live in a dead property (s3_metadata.h).
#include <openssl/evp.h>
#include <sodium.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "common/sha256.h"
#include "gateway/api/download_stream.h"
#include "gateway/api/upload_stream.h"
#include "gateway/formats/base64.h"
#include "gateway/s3/aws_chunked.h"
#include "gateway/s3/payload_checksum.h"
#include "gateway/s3/s3_metadata.h"
#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kReadBytes = 256 * 1024;

S3Error ParentIsObject() {
  return MakeS3Error(409, "XNexusParentIsObject",
                     "Object-prefix is already an object, please choose a different "
                     "object-prefix name.");
}

// Makes the folders between the bucket and the object's key.
asio::awaitable<std::optional<S3Error>> EnsureParents(S3Call& call, const std::string& key) {
  const size_t last = key.rfind('/');
  if (last == std::string::npos) co_return std::nullopt;
  const std::string parent = BucketPath(call) + "/" + key.substr(0, last);
  Result<std::optional<daemonpb::DirEntry>> p = co_await StatEntry(call.daemon, call.owner, parent);
  if (!p.ok()) co_return ErrorOf(p.status(), NoSuchBucket());
  if (*p) {
    if (IsFolder(**p)) co_return std::nullopt;
    co_return ParentIsObject();
  }
  std::string path = BucketPath(call);
  size_t pos = 0;
  while (pos < last) {
    size_t slash = key.find('/', pos);
    path += "/" + key.substr(pos, slash - pos);
    pos = slash + 1;
    Result<std::optional<daemonpb::DirEntry>> e = co_await StatEntry(call.daemon, call.owner, path);
    if (!e.ok()) co_return ErrorOf(e.status(), NoSuchBucket());
    if (*e && !IsFolder(**e)) co_return ParentIsObject();
    if (*e) continue;
    daemonpb::MakeDirectoryRequest mk;
    mk.set_owner(call.owner);
    mk.set_path(path);
    Result<daemonpb::MakeDirectoryResponse> made = co_await call.daemon.MakeDirectory(mk);
    if (!made.ok() && made.status().code() != StatusCode::kAlreadyExists) {
      co_return ErrorOf(made.status(), NoSuchBucket());
    }
  }
  co_return std::nullopt;
}

// Readies the object's path for a write: no folder there, its parents made.
// `*replaces`: an object is there now.
asio::awaitable<std::optional<S3Error>> PrepareWrite(S3Call& call, bool* replaces) {
  Result<std::optional<daemonpb::DirEntry>> existing =
      co_await StatEntry(call.daemon, call.owner, ObjectPath(call));
  if (!existing.ok()) co_return ErrorOf(existing.status(), NoSuchKey());
  if (*existing && IsFolder(**existing)) {
    co_return MakeS3Error(409, "XNexusObjectIsFolder",
                          "Other keys are below this key: it is a folder.");
  }
  *replaces = existing->has_value();
  co_return co_await EnsureParents(call, call.key);
}

// The bucket exists and the key is one the tree can hold; else the error.
asio::awaitable<std::optional<S3Error>> CheckTarget(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) co_return missing;
  if (!ValidKey(call.key)) co_return InvalidKey();
  co_return std::nullopt;
}

}  // namespace

bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > 1024 || key.back() == '/') return false;
  size_t pos = 0;
  while (pos <= key.size()) {
    size_t slash = key.find('/', pos);
    if (slash == std::string_view::npos) slash = key.size();
    std::string_view seg = key.substr(pos, slash - pos);
    if (seg.empty() || seg == "." || seg == "..") return false;
    pos = slash + 1;
  }
  return key.find('\0') == std::string_view::npos;
}

S3Error InvalidKey() {
  return MakeS3Error(400, "XNexusInvalidKey",
                     "Keys ending in '/' or with empty, '.' or '..' segments are not supported.");
}

namespace {

struct Md5Deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

namespace {

S3Error ChecksumMismatch(std::string_view name) {
  std::string algorithm(name.substr(std::string_view("x-amz-checksum-").size()));
  for (char& c : algorithm) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return MakeS3Error(400, "BadDigest",
                     "The " + algorithm + " you specified did not match the calculated checksum.");
}

// The additional checksum a request announces: by a header carrying its
// value, or by x-amz-trailer naming the trailer line that will. nullopt
// for none; an error for one that cannot be checked.
struct ExpectedChecksum {
  ChecksumAlgorithm algorithm;
  std::string name;
  std::optional<std::string> value;  // nullopt: it comes in the trailer
};

std::variant<std::optional<ExpectedChecksum>, S3Error> ExpectedChecksumOf(const S3Call& call) {
  const Headers& headers = call.req.headers;
  if (const std::string* trailer = headers.Find("x-amz-trailer")) {
    std::optional<ChecksumAlgorithm> a = ChecksumAlgorithmOfHeader(*trailer);
    if (!a || !call.chunked || !call.chunked->trailer) {
      return MakeS3Error(400, "InvalidRequest",
                         "The value specified in the x-amz-trailer header is not supported");
    }
    return ExpectedChecksum{*a, ChecksumHeaderName(*a), std::nullopt};
  }
  std::optional<ExpectedChecksum> found;
  for (const auto& [name, value] : headers.fields()) {
    std::optional<ChecksumAlgorithm> a = ChecksumAlgorithmOfHeader(name);
    if (!a) continue;
    if (found) {
      return MakeS3Error(400, "InvalidRequest", "Expecting a single x-amz-checksum- header");
    }
    found = ExpectedChecksum{*a, ChecksumHeaderName(*a), value};
  }
  return found;
}

}  // namespace

std::optional<S3Error> CheckBodyChecksum(const S3Call& call, std::string_view body) {
  auto expected = ExpectedChecksumOf(call);
  if (auto* e = std::get_if<S3Error>(&expected)) return *e;
  const std::optional<ExpectedChecksum>& want = std::get<std::optional<ExpectedChecksum>>(expected);
  // A body read whole carries no trailer: a checksum comes in a header.
  if (!want || !want->value) return std::nullopt;
  PayloadChecksum sum(want->algorithm);
  sum.Update(body);
  if (!SameChecksum(*want->value, sum.FinishBase64())) return ChecksumMismatch(want->name);
  return std::nullopt;
}

void SetChecksumHeader(const BodyDigests& digests, Response& r) {
  if (!digests.checksum_name.empty()) r.headers.Set(digests.checksum_name, digests.checksum);
}

asio::awaitable<std::optional<S3Error>> StreamBody(
    S3Call& call, UploadCall& upload, const std::string& want_md5, BodyDigests* digests,
    const std::function<S3Error(const Status&)>& upload_error) {
  // An aws-chunked body is checked chunk by chunk instead.
  const bool check_sha = !call.chunked && call.payload_hash != kUnsignedPayload;
  auto expected = ExpectedChecksumOf(call);
  if (auto* e = std::get_if<S3Error>(&expected)) co_return *e;
  const std::optional<ExpectedChecksum>& want = std::get<std::optional<ExpectedChecksum>>(expected);
  std::optional<PayloadChecksum> checksum;
  if (want) checksum.emplace(want->algorithm);
  Sha256 sha;
  std::unique_ptr<EVP_MD_CTX, Md5Deleter> md5(EVP_MD_CTX_new());
  if (!md5 || EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1) {
    co_return upload_error(InternalError("s3: no MD5"));
  }
  std::vector<char> buf(kReadBytes);
  std::string pending;
  pending.reserve(kUploadMessageBytes + kReadBytes);
  auto last_sent = std::chrono::steady_clock::now();
  std::optional<AwsChunkedDecoder> chunked;
  if (call.chunked) chunked.emplace(*call.chunked);
  std::string decoded;
  for (;;) {
    Result<size_t> n = co_await call.req.body_reader->Read(std::span<char>(buf));
    if (!n.ok()) co_return MakeS3Error(400, "IncompleteBody", "The request body ended early.");
    if (*n == 0) break;
    std::string_view got(buf.data(), *n);
    if (chunked) {
      decoded.clear();
      if (std::optional<S3Error> bad = chunked->Feed(got, &decoded)) co_return bad;
      got = decoded;
    }
    if (check_sha) {
      sha.Update(got);
    }
    EVP_DigestUpdate(md5.get(), got.data(), got.size());
    if (checksum) checksum->Update(got);
    pending.append(got);
    const auto now = std::chrono::steady_clock::now();
    if (pending.size() >= kUploadMessageBytes || now - last_sent >= kUploadFlushAfter) {
      if (Status s = co_await upload.Write(&pending); !s.ok()) co_return upload_error(s);
      last_sent = now;
    }
  }
  if (chunked) {
    if (std::optional<S3Error> bad = chunked->Finish()) co_return bad;
  }
  if (check_sha) {
    if (ToHex(sha.Finish()) != call.payload_hash) {
      co_return MakeS3Error(400, "XAmzContentSHA256Mismatch",
                            "The provided 'x-amz-content-sha256' header does not match what was "
                            "computed.");
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md5.get(), digest, &len);
  digests->md5.assign(reinterpret_cast<char*>(digest), len);
  if (!want_md5.empty() && digests->md5 != want_md5) {
    co_return MakeS3Error(400, "BadDigest",
                          "The Content-MD5 you specified did not match what we received.");
  }
  if (want) {
    std::optional<std::string> claimed = want->value;
    if (!claimed) {
      for (const auto& [name, value] : chunked->trailers()) {
        if (name == want->name) claimed = value;
      }
      if (!claimed) {
        co_return MakeS3Error(
            400, "InvalidRequest",
            "The trailer did not carry the " + want->name + " that x-amz-trailer named.");
      }
    }
    const std::string computed = checksum->FinishBase64();
    if (!SameChecksum(*claimed, computed)) co_return ChecksumMismatch(want->name);
    digests->checksum_name = want->name;
    digests->checksum = computed;
  }
  if (!pending.empty()) {
    if (Status s = co_await upload.Write(&pending); !s.ok()) co_return upload_error(s);
  }
  co_return std::nullopt;
}

namespace {

// The object's entry, or the error answering its absence.
asio::awaitable<std::variant<daemonpb::DirEntry, S3Error>> StatObject(S3Call& call) {
  if (!ValidKey(call.key)) co_return NoSuchKey();
  Result<std::optional<daemonpb::DirEntry>> e =
      co_await StatEntry(call.daemon, call.owner, ObjectPath(call));
  if (!e.ok()) co_return ErrorOf(e.status(), NoSuchKey());
  if (*e && !IsFolder(**e)) co_return std::move(**e);
  Result<std::optional<daemonpb::DirEntry>> b =
      co_await StatEntry(call.daemon, call.owner, BucketPath(call));
  if (b.ok() && (!*b || !IsFolder(**b))) co_return NoSuchBucket();
  co_return NoSuchKey();
}

void SetObjectHeaders(const daemonpb::DirEntry& e, const ObjectMetadata& metadata,
                      const Request& req, Response& r) {
  r.headers.Set("ETag", EtagOf(e));
  r.headers.Set("Last-Modified", FormatUtc(e.modified(), "%a, %d %b %Y %H:%M:%S GMT"));
  ApplyMetadata(metadata, req, r);
  ApplyChecksum(metadata, e.sha256(), req, r);
  r.headers.Set("Accept-Ranges", "bytes");
}

asio::awaitable<Result<int64_t>> KnownSize(int64_t size) { co_return size; }

// An HTTP date as unix seconds; nullopt when malformed.
std::optional<int64_t> ParseHttpDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

bool EtagListHas(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag == "*" || tag == etag) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return false;
}

// GET and HEAD's conditions (RFC 9110 §13 as S3 applies them): a failed
// If-Match or If-Unmodified-Since is 412, a matching If-None-Match or an
// unchanged If-Modified-Since is 304.
std::optional<Response> CheckConditions(const S3Call& call, const daemonpb::DirEntry& e) {
  const Request& req = call.req;
  const std::string etag = EtagOf(e);
  const S3Error failed = MakeS3Error(412, "PreconditionFailed",
                                     "At least one of the pre-conditions you specified did not "
                                     "hold");
  const std::string* im = req.headers.Find("If-Match");
  if (im && !EtagListHas(*im, etag)) return Fail(call, failed);
  if (const std::string* ius = req.headers.Find("If-Unmodified-Since"); ius && !im) {
    std::optional<int64_t> t = ParseHttpDate(*ius);
    if (t && e.modified() > *t) return Fail(call, failed);
  }
  Response unchanged;
  unchanged.status = 304;
  unchanged.headers.Set("ETag", etag);
  const std::string* inm = req.headers.Find("If-None-Match");
  if (inm && EtagListHas(*inm, etag)) return unchanged;
  if (const std::string* ims = req.headers.Find("If-Modified-Since"); ims && !inm) {
    std::optional<int64_t> t = ParseHttpDate(*ims);
    if (t && e.modified() <= *t) return unchanged;
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<Response> PutObject(S3Call& call) {
  if (std::optional<S3Error> bad = co_await CheckTarget(call)) co_return Fail(call, *bad);
  if (call.req.headers.Has("Content-Range")) {
    co_return Fail(call, MakeS3Error(501, "NotImplemented", "Content-Range is not supported."));
  }
  std::string want_md5;
  if (const std::string* md5 = call.req.headers.Find("Content-MD5")) {
    want_md5 = DecodeBase64Strict(*md5).value_or("");
    if (want_md5.size() != 16) {
      co_return Fail(
          call, MakeS3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid."));
    }
  }
  std::variant<ObjectMetadata, S3Error> metadata = MetadataOfRequest(call.req.headers);
  if (auto* e = std::get_if<S3Error>(&metadata)) co_return Fail(call, *e);
  bool replaces = false;
  if (std::optional<S3Error> bad = co_await PrepareWrite(call, &replaces)) {
    co_return Fail(call, *bad);
  }

  daemonpb::UploadHeader header;
  header.set_owner(call.owner);
  header.set_file_name(call.key.substr(call.key.rfind('/') + 1));
  header.set_vfs_path(ObjectPath(call));
  int64_t declared = -1;
  // An aws-chunked body's Content-Length counts its framing too.
  if (const std::string* cl =
          call.req.headers.Find(call.chunked ? "x-amz-decoded-content-length" : "Content-Length")) {
    std::from_chars(cl->data(), cl->data() + cl->size(), declared);
  }
  header.set_declared_size(declared);
  Result<std::unique_ptr<UploadCall>> upload = co_await call.daemon.StartUpload(header);
  if (!upload.ok()) co_return Fail(call, ErrorOf(upload.status(), NoSuchKey()));
  // A failure drops the call unfinished: nexusd keeps nothing.
  BodyDigests digests;
  if (std::optional<S3Error> bad =
          co_await StreamBody(call, **upload, want_md5, &digests,
                              [](const Status& s) { return ErrorOf(s, NoSuchKey()); })) {
    (*upload)->Cancel();
    co_return Fail(call, *bad);
  }
  if (Status s = co_await (*upload)->SendS3Etag(HexOf(digests.md5)); !s.ok()) {
    co_return Fail(call, ErrorOf(s, NoSuchKey()));
  }
  Result<daemonpb::FileInfo> file = co_await (*upload)->Finish();
  if (!file.ok()) co_return Fail(call, ErrorOf(file.status(), NoSuchKey()));
  ObjectMetadata& kept = std::get<ObjectMetadata>(metadata);
  if (!digests.checksum_name.empty()) {
    kept.checksum = StoredChecksum{digests.checksum_name, digests.checksum, file->sha256()};
  }
  // A replaced object's entry keeps its properties: the new metadata (or
  // none) replaces what the old object had.
  if (std::optional<S3Error> bad = co_await StoreMetadata(call, ObjectPath(call), kept, replaces)) {
    co_return Fail(call, *bad);
  }
  Response r;
  r.headers.Set("ETag", EtagOf(file->s3_etag(), file->sha256()));
  SetChecksumHeader(digests, r);
  co_return r;
}

asio::awaitable<Response> CopyObject(S3Call& call) {
  if (std::optional<S3Error> bad = co_await CheckTarget(call)) co_return Fail(call, *bad);
  // "/bucket/key" or "bucket/key", percent-encoded, maybe with ?versionId=.
  std::string source = PercentDecode(call.req.headers.Get("x-amz-copy-source"));
  if (size_t q = source.find("?versionId="); q != std::string::npos) source.resize(q);
  if (source.starts_with("/")) source.erase(0, 1);
  const size_t slash = source.find('/');
  if (slash == std::string::npos) {
    co_return Fail(call, MakeS3Error(400, "InvalidArgument",
                                     "Copy Source must mention the source bucket and key: "
                                     "sourcebucket/sourcekey"));
  }
  S3Call from{call.req,
              call.daemon,
              call.owner,
              call.owner_id,
              source.substr(0, slash),
              source.substr(slash + 1),
              call.payload_hash,
              call.region};
  std::variant<daemonpb::DirEntry, S3Error> src = co_await StatObject(from);
  if (auto* e = std::get_if<S3Error>(&src)) co_return Fail(call, *e);
  // COPY (the default) takes the source's metadata with the entry's
  // properties; REPLACE sets the request's instead.
  const std::string directive(call.req.headers.Get("x-amz-metadata-directive"));
  if (!directive.empty() && directive != "COPY" && directive != "REPLACE") {
    co_return Fail(call, MakeS3Error(400, "InvalidArgument", "Unknown metadata directive."));
  }
  const bool replace_metadata = directive == "REPLACE";
  std::variant<ObjectMetadata, S3Error> metadata = MetadataOfRequest(call.req.headers);
  if (auto* e = std::get_if<S3Error>(&metadata)) co_return Fail(call, *e);
  if (ObjectPath(from) == ObjectPath(call) && !replace_metadata) {
    co_return Fail(call, MakeS3Error(400, "InvalidRequest",
                                     "This copy request is illegal because it is trying to copy "
                                     "an object to itself without changing the object's "
                                     "metadata, storage class, website redirect location or "
                                     "encryption attributes."));
  }
  bool replaces = false;
  if (std::optional<S3Error> bad = co_await PrepareWrite(call, &replaces)) {
    co_return Fail(call, *bad);
  }
  if (ObjectPath(from) != ObjectPath(call)) {
    daemonpb::CopyPathRequest copy;
    copy.set_owner(call.owner);
    copy.set_from_path(ObjectPath(from));
    copy.set_to_path(ObjectPath(call));
    copy.set_overwrite(true);
    Result<daemonpb::CopyPathResponse> done = co_await call.daemon.CopyPath(copy);
    if (!done.ok()) co_return Fail(call, ErrorOf(done.status(), NoSuchKey()));
  }
  if (replace_metadata) {
    // New headers, but the content, and so its checksum, stay.
    Result<ObjectMetadata> source = co_await LoadMetadata(call, ObjectPath(call));
    if (!source.ok()) co_return Fail(call, ErrorOf(source.status(), NoSuchKey()));
    std::get<ObjectMetadata>(metadata).checksum = std::move(source->checksum);
    if (std::optional<S3Error> bad = co_await StoreMetadata(
            call, ObjectPath(call), std::get<ObjectMetadata>(metadata), true)) {
      co_return Fail(call, *bad);
    }
  }
  Result<std::optional<daemonpb::DirEntry>> copied =
      co_await StatEntry(call.daemon, call.owner, ObjectPath(call));
  if (!copied.ok() || !*copied) co_return Fail(call, NoSuchKey());
  co_return XmlResponse(CopyObjectXml(EtagOf(**copied), (*copied)->modified()));
}

asio::awaitable<Response> GetObject(S3Call& call) {
  std::variant<daemonpb::DirEntry, S3Error> entry = co_await StatObject(call);
  if (auto* e = std::get_if<S3Error>(&entry)) co_return Fail(call, *e);
  const daemonpb::DirEntry& file = std::get<daemonpb::DirEntry>(entry);
  if (std::optional<Response> cond = CheckConditions(call, file)) co_return std::move(*cond);
  Result<ObjectMetadata> metadata = co_await LoadMetadata(call, ObjectPath(call));
  if (!metadata.ok()) co_return Fail(call, ErrorOf(metadata.status(), NoSuchKey()));
  daemonpb::DownloadPathRequest dl;
  dl.set_owner(call.owner);
  dl.set_path(ObjectPath(call));
  if (auto range = RangeOfRequest(call.req)) SetByteRange(*range, dl.mutable_range());
  const int64_t size = file.size();
  SizeLookup size_of = [size]() { return KnownSize(size); };
  Result<Response> served =
      co_await ServeDownload(call.daemon.DownloadPath(std::move(dl)), call.req, size_of);
  if (!served.ok()) co_return Fail(call, ErrorOf(served.status(), NoSuchKey()));
  Response r = std::move(served).value();
  if (r.status == 416) {
    co_return Fail(call,
                   MakeS3Error(416, "InvalidRange", "The requested range is not satisfiable"));
  }
  if (r.status >= 400)
    co_return Fail(call, ErrorOf(Status(StatusCode::kInternal, ""), NoSuchKey()));
  Headers headers;
  for (const auto& [k, v] : r.headers.fields()) {
    if (!EqualsIgnoreCase(k, "Content-Disposition")) headers.Add(k, v);
  }
  r.headers = std::move(headers);
  SetObjectHeaders(file, *metadata, call.req, r);
  co_return r;
}

asio::awaitable<Response> HeadObject(S3Call& call) {
  std::variant<daemonpb::DirEntry, S3Error> entry = co_await StatObject(call);
  if (auto* e = std::get_if<S3Error>(&entry)) co_return Fail(call, *e);
  const daemonpb::DirEntry& file = std::get<daemonpb::DirEntry>(entry);
  if (std::optional<Response> cond = CheckConditions(call, file)) co_return std::move(*cond);
  Result<ObjectMetadata> metadata = co_await LoadMetadata(call, ObjectPath(call));
  if (!metadata.ok()) co_return Fail(call, ErrorOf(metadata.status(), NoSuchKey()));
  Response r;
  SetObjectHeaders(file, *metadata, call.req, r);
  // The session keeps this Content-Length on a HEAD answer with no body.
  r.headers.Set("Content-Length", std::to_string(file.size()));
  co_return r;
}

asio::awaitable<Result<ObjectMetadata>> LoadMetadata(S3Call& call, const std::string& path) {
  daemonpb::ListPropsRequest list;
  list.set_owner(call.owner);
  list.set_path(path);
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ListPropsResponse props,
                            co_await call.daemon.ListProps(std::move(list)));
  for (const daemonpb::EntryProps& entry : props.entries()) {
    if (!entry.name().empty()) continue;
    for (const daemonpb::DeadProp& p : entry.props()) {
      if (p.ns() != kMetadataNamespace || p.name() != kMetadataProperty) continue;
      // A value some WebDAV client wrote in our place means no metadata.
      if (std::optional<ObjectMetadata> m = DecodeMetadata(p.value())) co_return std::move(*m);
    }
  }
  co_return ObjectMetadata{};
}

asio::awaitable<std::optional<S3Error>> StoreMetadata(S3Call& call, const std::string& path,
                                                      const ObjectMetadata& metadata,
                                                      bool may_have_some) {
  if (metadata.empty() && !may_have_some) co_return std::nullopt;
  daemonpb::PatchPropsRequest patch;
  patch.set_owner(call.owner);
  patch.set_path(path);
  daemonpb::PropChange* change = patch.add_changes();
  change->mutable_prop()->set_ns(std::string(kMetadataNamespace));
  change->mutable_prop()->set_name(std::string(kMetadataProperty));
  if (metadata.empty()) {
    change->set_remove(true);
  } else {
    change->mutable_prop()->set_value(EncodeMetadata(metadata));
  }
  Result<daemonpb::PatchPropsResponse> patched = co_await call.daemon.PatchProps(std::move(patch));
  if (!patched.ok()) co_return ErrorOf(patched.status(), NoSuchKey());
  co_return std::nullopt;
}

asio::awaitable<std::optional<S3Error>> DeleteKey(S3Call& call) {
  std::variant<daemonpb::DirEntry, S3Error> entry = co_await StatObject(call);
  if (auto* e = std::get_if<S3Error>(&entry)) {
    // Deleting a key that is not there succeeds, as on S3.
    if (e->code == "NoSuchKey") co_return std::nullopt;
    co_return *e;
  }
  daemonpb::DeletePathRequest del;
  del.set_owner(call.owner);
  del.set_path(ObjectPath(call));
  Result<daemonpb::DeletePathResponse> deleted = co_await call.daemon.DeletePath(del);
  if (!deleted.ok() && deleted.status().code() != StatusCode::kNotFound) {
    co_return ErrorOf(deleted.status(), NoSuchKey());
  }
  // The folders the key alone kept alive go with it: S3 has no folders.
  std::string key = call.key;
  for (size_t slash = key.rfind('/'); slash != std::string::npos; slash = key.rfind('/')) {
    key.resize(slash);
    const std::string folder = BucketPath(call) + "/" + key;
    daemonpb::ListDirectoryRequest list;
    list.set_owner(call.owner);
    list.set_path(folder);
    Result<daemonpb::ListDirectoryResponse> listed = co_await call.daemon.ListDirectory(list);
    if (!listed.ok() || listed->entries_size() > 0) break;
    daemonpb::DeletePathRequest rm;
    rm.set_owner(call.owner);
    rm.set_path(folder);
    if (!(co_await call.daemon.DeletePath(rm)).ok()) break;
  }
  co_return std::nullopt;
}

asio::awaitable<Response> DeleteObject(S3Call& call) {
  if (std::optional<S3Error> bad = co_await DeleteKey(call)) co_return Fail(call, *bad);
  Response done;
  done.status = 204;
  co_return done;
}

}  // namespace nexus::gateway::s3
