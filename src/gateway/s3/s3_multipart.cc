// S3 multipart uploads over nexusd's Tree multipart calls (tree.proto).
// nexusd keeps the state; this file speaks S3: the query parameters, the
// XML documents, the ETags and the error codes.
//
// A part streams into an UploadFile call as a PUT's body does, with its MD5
// computed on the way (the part's ETag, which nexusd stores and Complete
// compares with the ETags the client lists) and sent after the bytes. The
// object's ETag is S3's: the MD5 of the parts' binary MD5s, "-" and their
// number, which nexusd computes and keeps with the object. The metadata of
// the Create request (Content-Type, x-amz-meta-*) goes with the upload and
// nexusd sets it on the object in Complete's transaction.
// UploadPartCopy is nexusd's: the source's bytes (or range) are read once
// and go through the upload path, so the part's MD5 is real and the
// chunker finds the source's chunks again (no new chunk for a copy of
// whole files).
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "gateway/api/upload_stream.h"
#include "gateway/formats/base64.h"
#include "gateway/s3/aws_chunked.h"
#include "gateway/s3/s3_ops.h"
#include "gateway/s3/s3_xml.h"
#include "gateway/s3/s3_xml_read.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kReadBytes = 256 * 1024;
// Every part but the last is at least this big (S3's limit).
constexpr int64_t kMinPartBytes = 5LL << 20;
constexpr int kMaxParts = 10000;
// And none is bigger than this (S3's limit; a part sent without its length
// is bounded by the quota alone).
constexpr int64_t kMaxPartBytes = 5LL << 30;
// A Complete document lists up to 10000 parts of ~100 bytes.
constexpr size_t kMaxCompleteBodyBytes = 4 << 20;
constexpr char kXmlHead[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr char kXmlNs[] = " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";

S3Error NoSuchUpload() {
  return MakeS3Error(404, "NoSuchUpload",
                     "The specified upload does not exist. The upload ID may be invalid, or the "
                     "upload may have been aborted or completed.");
}

S3Error Malformed() {
  return MakeS3Error(400, "MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our "
                     "published schema.");
}

// nexusd's refusals name the S3 code first ("InvalidPart: ..."); an
// unknown upload is NoSuchUpload, other kNotFound `not_found`.
S3Error MultipartError(const Status& s, const S3Error& not_found = NoSuchUpload()) {
  const std::string& m = s.message();
  auto code_of = [&m](std::string_view code) {
    return m.find(std::string(code) + ": ") != std::string::npos;
  };
  if (s.code() == StatusCode::kNotFound) {
    return code_of("NoSuchUpload") ? NoSuchUpload() : not_found;
  }
  if (s.code() == StatusCode::kQuotaExceeded && code_of("TooManyUploads")) {
    return MakeS3Error(403, "QuotaExceeded", m.substr(m.find("TooManyUploads: ") + 16));
  }
  if (s.code() == StatusCode::kInvalidArgument) {
    for (const char* code :
         {"InvalidPartOrder", "InvalidPart", "EntityTooSmall", "MalformedXML", "InvalidArgument"}) {
      if (!code_of(code)) continue;
      std::string why = m.substr(m.find(std::string(code) + ": ") + std::strlen(code) + 2);
      if (std::string_view(code) == "EntityTooSmall") {
        why = "Your proposed upload is smaller than the minimum allowed object size.";
      }
      return MakeS3Error(400, code, why);
    }
  }
  if (s.code() == StatusCode::kAlreadyExists) {
    return MakeS3Error(409, "XNexusObjectIsFolder",
                       "Other keys are below this key, or a key above it is an object.");
  }
  return ErrorOf(s, not_found);
}

// A whole-number query parameter in [lo, hi]; nullopt when absent, `bad`
// set when present but not such a number.
std::optional<int64_t> IntParam(const Request& req, std::string_view name, int64_t lo, int64_t hi,
                                bool* bad) {
  const std::string* v = req.QueryParam(name);
  if (!v) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < lo || n > hi) {
    *bad = true;
    return std::nullopt;
  }
  return n;
}

// The object's key for a path "/bucket/key".
std::string KeyOf(const S3Call& call, const std::string& path) {
  const std::string bucket = BucketPath(call) + "/";
  return path.starts_with(bucket) ? path.substr(bucket.size()) : path;
}

std::string OwnerXml(const S3Call& call, const char* element) {
  return std::string("<") + element + "><ID>" + XmlEscape(call.owner_id) + "</ID><DisplayName>" +
         XmlEscape(call.owner) + "</DisplayName></" + element + ">";
}

// An ETag as a client lists it ("\"<32 hex>\"", quotes optional) as
// lowercase hex; "" when it is not one.
std::string Md5HexOfEtag(std::string tag) {
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
    tag = tag.substr(1, tag.size() - 2);
  if (tag.size() != 32) return "";
  for (char& c : tag) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
  }
  return tag;
}

// The parts of a <CompleteMultipartUpload> document; false when malformed.
// A listed ETag that is no MD5 stays "" and fails as InvalidPart.
bool ParseComplete(const std::string& body, std::vector<daemonpb::CompletePart>* parts) {
  XmlDoc doc = ReadXml(body);
  if (!doc) return false;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || NameOf(root) != "CompleteMultipartUpload") return false;
  for (const xmlNode* n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE || NameOf(n) != "Part") continue;
    daemonpb::CompletePart part;
    bool has_number = false;
    for (const xmlNode* k = n->children; k; k = k->next) {
      if (k->type != XML_ELEMENT_NODE) continue;
      if (NameOf(k) == "PartNumber") {
        const std::string t = TextOf(k);
        int number = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), number);
        if (ec != std::errc() || end != t.data() + t.size()) return false;
        part.set_number(number);
        has_number = true;
      } else if (NameOf(k) == "ETag") {
        part.set_md5(Md5HexOfEtag(TextOf(k)));
      }
    }
    if (!has_number) return false;
    parts->push_back(std::move(part));
  }
  return !parts->empty() && parts->size() <= static_cast<size_t>(kMaxParts);
}

// "bytes=first-last" as a ByteRange; false when malformed.
bool ParseCopyRange(const std::string& text, daemonpb::ByteRange* range) {
  if (!text.starts_with("bytes=")) return false;
  const std::string_view spec = std::string_view(text).substr(6);
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return false;
  int64_t first = 0;
  int64_t last = 0;
  auto a = std::from_chars(spec.data(), spec.data() + dash, first);
  auto b = std::from_chars(spec.data() + dash + 1, spec.data() + spec.size(), last);
  if (a.ec != std::errc() || a.ptr != spec.data() + dash || b.ec != std::errc() ||
      b.ptr != spec.data() + spec.size() || first < 0 || last < first) {
    return false;
  }
  range->set_offset(first);
  range->set_length(last - first + 1);
  return true;
}

// The upload id and part number of an UploadPart request, or the error.
std::variant<std::pair<std::string, int>, S3Error> PartTarget(const S3Call& call) {
  bool bad = false;
  std::optional<int64_t> number = IntParam(call.req, "partNumber", 1, kMaxParts, &bad);
  if (bad || !number) {
    return MakeS3Error(400, "InvalidArgument",
                       "Part number must be an integer between 1 and 10000, inclusive");
  }
  const std::string* id = call.req.QueryParam("uploadId");
  if (!id || id->empty()) return NoSuchUpload();
  if (!ValidKey(call.key)) return InvalidKey();
  return std::make_pair(*id, static_cast<int>(*number));
}

}  // namespace

asio::awaitable<Response> CreateMultipartUpload(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) co_return Fail(call, *missing);
  if (!ValidKey(call.key)) co_return Fail(call, InvalidKey());
  std::variant<ObjectMetadata, S3Error> metadata = MetadataOfRequest(call.req.headers);
  if (auto* e = std::get_if<S3Error>(&metadata)) co_return Fail(call, *e);
  daemonpb::CreateMultipartUploadRequest create;
  create.set_owner(call.owner);
  create.set_path(ObjectPath(call));
  // Complete sets it (or, empty, clears what a replaced object had).
  daemonpb::DeadProp* prop = create.mutable_on_complete();
  prop->set_ns(std::string(kMetadataNamespace));
  prop->set_name(std::string(kMetadataProperty));
  if (!std::get<ObjectMetadata>(metadata).empty()) {
    prop->set_value(EncodeMetadata(std::get<ObjectMetadata>(metadata)));
  }
  Result<daemonpb::MultipartUpload> made =
      co_await call.daemon.CreateMultipartUpload(std::move(create));
  if (!made.ok()) co_return Fail(call, MultipartError(made.status(), NoSuchBucket()));
  co_return XmlResponse(std::string(kXmlHead) + "<InitiateMultipartUploadResult" + kXmlNs +
                        "><Bucket>" + XmlEscape(call.bucket) + "</Bucket><Key>" +
                        XmlEscape(call.key) + "</Key><UploadId>" + XmlEscape(made->upload_id()) +
                        "</UploadId></InitiateMultipartUploadResult>");
}

asio::awaitable<Response> UploadPart(S3Call& call) {
  auto target = PartTarget(call);
  if (auto* e = std::get_if<S3Error>(&target)) co_return Fail(call, *e);
  const auto& [upload_id, number] = std::get<std::pair<std::string, int>>(target);
  std::string want_md5;
  if (const std::string* md5 = call.req.headers.Find("Content-MD5")) {
    want_md5 = DecodeBase64Strict(*md5).value_or("");
    if (want_md5.size() != 16) {
      co_return Fail(
          call, MakeS3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid."));
    }
  }
  daemonpb::UploadHeader header;
  header.set_owner(call.owner);
  header.set_file_name(call.key.substr(call.key.rfind('/') + 1));
  header.set_vfs_path(ObjectPath(call));
  header.set_multipart_upload_id(upload_id);
  header.set_part_number(number);
  int64_t declared = -1;
  if (const std::string* cl =
          call.req.headers.Find(call.chunked ? "x-amz-decoded-content-length" : "Content-Length")) {
    std::from_chars(cl->data(), cl->data() + cl->size(), declared);
  }
  if (declared > kMaxPartBytes) {
    co_return Fail(call, MakeS3Error(400, "EntityTooLarge",
                                     "Your proposed upload exceeds the maximum allowed size"));
  }
  header.set_declared_size(declared);
  Result<std::unique_ptr<UploadCall>> upload = co_await call.daemon.StartUpload(header);
  if (!upload.ok()) co_return Fail(call, MultipartError(upload.status()));
  BodyDigests digests;
  // A failure drops the call unfinished: nexusd keeps nothing.
  if (std::optional<S3Error> bad = co_await StreamBody(
          call, **upload, want_md5, &digests, [](const Status& s) { return MultipartError(s); })) {
    (*upload)->Cancel();
    co_return Fail(call, *bad);
  }
  const std::string md5_hex = HexOf(digests.md5);
  if (Status s = co_await (*upload)->SendS3Etag(md5_hex); !s.ok()) {
    co_return Fail(call, MultipartError(s));
  }
  Result<daemonpb::FileInfo> file = co_await (*upload)->Finish();
  if (!file.ok()) co_return Fail(call, MultipartError(file.status()));
  Response r;
  r.headers.Set("ETag", "\"" + md5_hex + "\"");
  SetChecksumHeader(digests, r);
  co_return r;
}

asio::awaitable<Response> UploadPartCopy(S3Call& call) {
  auto target = PartTarget(call);
  if (auto* e = std::get_if<S3Error>(&target)) co_return Fail(call, *e);
  const auto& [upload_id, number] = std::get<std::pair<std::string, int>>(target);
  std::string source = PercentDecode(call.req.headers.Get("x-amz-copy-source"));
  if (size_t q = source.find("?versionId="); q != std::string::npos) source.resize(q);
  if (source.starts_with("/")) source.erase(0, 1);
  const size_t slash = source.find('/');
  if (slash == std::string::npos || !ValidKey(source.substr(slash + 1))) {
    co_return Fail(call, MakeS3Error(400, "InvalidArgument",
                                     "Copy Source must mention the source bucket and key: "
                                     "sourcebucket/sourcekey"));
  }
  daemonpb::UploadPartCopyRequest copy;
  copy.set_owner(call.owner);
  copy.set_upload_id(upload_id);
  copy.set_path(ObjectPath(call));
  copy.set_part_number(number);
  copy.set_from_path("/" + source);
  if (const std::string* range = call.req.headers.Find("x-amz-copy-source-range")) {
    if (!ParseCopyRange(*range, copy.mutable_range())) {
      co_return Fail(call, MakeS3Error(400, "InvalidArgument",
                                       "The x-amz-copy-source-range value must be of the form "
                                       "bytes=first-last where first and last are the zero-based "
                                       "offsets of the first and last bytes to copy"));
    }
  }
  Result<daemonpb::MultipartPart> part = co_await call.daemon.UploadPartCopy(std::move(copy));
  if (!part.ok()) {
    if (part.status().code() == StatusCode::kRangeNotSatisfiable) {
      co_return Fail(call,
                     MakeS3Error(416, "InvalidRange", "The requested range is not satisfiable"));
    }
    if (part.status().code() == StatusCode::kInvalidArgument &&
        part.status().message().find("is a folder") != std::string::npos) {
      co_return Fail(call, NoSuchKey());
    }
    co_return Fail(call, MultipartError(part.status(), NoSuchKey()));
  }
  co_return XmlResponse(std::string(kXmlHead) + "<CopyPartResult" + kXmlNs + "><LastModified>" +
                        Iso8601(part->modified()) + "</LastModified><ETag>&quot;" + part->md5() +
                        "&quot;</ETag></CopyPartResult>");
}

asio::awaitable<Response> CompleteMultipartUpload(S3Call& call) {
  Result<std::string> body = co_await ReadSmallBody(call.req, kMaxCompleteBodyBytes);
  if (!body.ok()) co_return Fail(call, Malformed());
  if (call.payload_hash != kUnsignedPayload && call.payload_hash != Sha256Hex(*body)) {
    co_return Fail(call, MakeS3Error(400, "XAmzContentSHA256Mismatch",
                                     "The provided 'x-amz-content-sha256' header does not match "
                                     "what was computed."));
  }
  std::vector<daemonpb::CompletePart> parts;
  if (!ParseComplete(*body, &parts)) co_return Fail(call, Malformed());
  if (!ValidKey(call.key)) co_return Fail(call, InvalidKey());
  // The commit makes the folders the key needs: it must not bring back a
  // bucket deleted since the upload began.
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) co_return Fail(call, *missing);
  daemonpb::CompleteMultipartUploadRequest complete;
  complete.set_owner(call.owner);
  complete.set_upload_id(*call.req.QueryParam("uploadId"));
  complete.set_path(ObjectPath(call));
  complete.set_min_part_size(kMinPartBytes);
  for (const daemonpb::CompletePart& p : parts) *complete.add_parts() = p;
  Result<daemonpb::DirEntry> done =
      co_await call.daemon.CompleteMultipartUpload(std::move(complete));
  if (!done.ok()) co_return Fail(call, MultipartError(done.status()));
  const std::string host(call.req.headers.Get("Host"));
  co_return XmlResponse(std::string(kXmlHead) + "<CompleteMultipartUploadResult" + kXmlNs +
                        "><Location>http://" + XmlEscape(host) + "/" + XmlEscape(call.bucket) +
                        "/" + XmlEscape(call.key) + "</Location><Bucket>" + XmlEscape(call.bucket) +
                        "</Bucket><Key>" + XmlEscape(call.key) + "</Key><ETag>" +
                        XmlEscape(EtagOf(*done)) + "</ETag></CompleteMultipartUploadResult>");
}

asio::awaitable<Response> AbortMultipartUpload(S3Call& call) {
  daemonpb::AbortMultipartUploadRequest abort;
  abort.set_owner(call.owner);
  abort.set_upload_id(*call.req.QueryParam("uploadId"));
  abort.set_path(ObjectPath(call));
  Result<daemonpb::AbortMultipartUploadResponse> done =
      co_await call.daemon.AbortMultipartUpload(std::move(abort));
  if (!done.ok()) co_return Fail(call, MultipartError(done.status()));
  Response r;
  r.status = 204;
  co_return r;
}

asio::awaitable<Response> ListParts(S3Call& call) {
  bool bad = false;
  const int64_t max_parts = IntParam(call.req, "max-parts", 0, kMaxParts, &bad).value_or(1000);
  const int64_t marker = IntParam(call.req, "part-number-marker", 0, kMaxParts, &bad).value_or(0);
  if (bad) {
    co_return Fail(call, MakeS3Error(400, "InvalidArgument",
                                     "max-parts and part-number-marker must be integers from 0 "
                                     "to 10000"));
  }
  daemonpb::ListPartsRequest list;
  list.set_owner(call.owner);
  list.set_upload_id(*call.req.QueryParam("uploadId"));
  list.set_path(ObjectPath(call));
  Result<daemonpb::ListPartsResponse> got = co_await call.daemon.ListParts(std::move(list));
  if (!got.ok()) co_return Fail(call, MultipartError(got.status()));
  std::string parts;
  int64_t shown = 0;
  int64_t next_marker = marker;
  bool truncated = false;
  for (const daemonpb::MultipartPart& p : got->parts()) {
    if (p.number() <= marker) continue;
    if (shown == max_parts) {
      truncated = true;
      break;
    }
    parts += "<Part><PartNumber>" + std::to_string(p.number()) + "</PartNumber><LastModified>" +
             Iso8601(p.modified()) + "</LastModified><ETag>&quot;" + p.md5() +
             "&quot;</ETag><Size>" + std::to_string(p.size()) + "</Size></Part>";
    next_marker = p.number();
    ++shown;
  }
  co_return XmlResponse(
      std::string(kXmlHead) + "<ListPartsResult" + kXmlNs + "><Bucket>" + XmlEscape(call.bucket) +
      "</Bucket><Key>" + XmlEscape(call.key) + "</Key><UploadId>" +
      XmlEscape(got->upload().upload_id()) + "</UploadId>" + OwnerXml(call, "Initiator") +
      OwnerXml(call, "Owner") + "<StorageClass>STANDARD</StorageClass><PartNumberMarker>" +
      std::to_string(marker) + "</PartNumberMarker><NextPartNumberMarker>" +
      std::to_string(next_marker) + "</NextPartNumberMarker><MaxParts>" +
      std::to_string(max_parts) + "</MaxParts><IsTruncated>" + (truncated ? "true" : "false") +
      "</IsTruncated>" + parts + "</ListPartsResult>");
}

asio::awaitable<Response> ListMultipartUploads(S3Call& call) {
  if (std::optional<S3Error> missing = co_await CheckBucket(call)) co_return Fail(call, *missing);
  const Request& req = call.req;
  bool bad = false;
  const int64_t max_uploads = IntParam(req, "max-uploads", 0, 1000, &bad).value_or(1000);
  if (bad) {
    co_return Fail(
        call, MakeS3Error(400, "InvalidArgument", "max-uploads must be an integer from 0 to 1000"));
  }
  auto param = [&req](std::string_view name) {
    const std::string* v = req.QueryParam(name);
    return v ? *v : std::string();
  };
  const std::string prefix = param("prefix");
  const std::string delimiter = param("delimiter");
  const std::string key_marker = param("key-marker");
  const std::string id_marker = param("upload-id-marker");
  daemonpb::ListMultipartUploadsRequest list;
  list.set_owner(call.owner);
  list.set_path_prefix(BucketPath(call) + "/" + prefix);
  Result<daemonpb::ListMultipartUploadsResponse> got =
      co_await call.daemon.ListMultipartUploads(std::move(list));
  if (!got.ok()) co_return Fail(call, ErrorOf(got.status(), NoSuchBucket()));

  std::string uploads;
  std::vector<std::string> prefixes;
  int64_t shown = 0;
  bool truncated = false;
  std::string next_key;
  std::string next_id;
  // With an upload-id-marker, the marker key's uploads after that id come
  // first; without one, only keys after the marker.
  bool past_id_marker = id_marker.empty();
  for (const daemonpb::MultipartUpload& u : got->uploads()) {
    const std::string key = KeyOf(call, u.path());
    if (!key_marker.empty()) {
      if (key < key_marker) continue;
      if (key == key_marker) {
        if (id_marker.empty()) continue;
        if (!past_id_marker) {
          past_id_marker = u.upload_id() == id_marker;
          continue;
        }
      }
    }
    if (!delimiter.empty()) {
      const size_t d = key.find(delimiter, prefix.size());
      if (d != std::string::npos) {
        const std::string common = key.substr(0, d + delimiter.size());
        if (prefixes.empty() || prefixes.back() != common) {
          if (shown == max_uploads) {
            truncated = true;
            break;
          }
          prefixes.push_back(common);
          ++shown;
          next_key = key;
          next_id = u.upload_id();
        }
        continue;
      }
    }
    if (shown == max_uploads) {
      truncated = true;
      break;
    }
    uploads += "<Upload><Key>" + XmlEscape(key) + "</Key><UploadId>" + XmlEscape(u.upload_id()) +
               "</UploadId>" + OwnerXml(call, "Initiator") + OwnerXml(call, "Owner") +
               "<StorageClass>STANDARD</StorageClass><Initiated>" + Iso8601(u.created()) +
               "</Initiated></Upload>";
    next_key = key;
    next_id = u.upload_id();
    ++shown;
  }
  std::string out = std::string(kXmlHead) + "<ListMultipartUploadsResult" + kXmlNs + "><Bucket>" +
                    XmlEscape(call.bucket) + "</Bucket><KeyMarker>" + XmlEscape(key_marker) +
                    "</KeyMarker><UploadIdMarker>" + XmlEscape(id_marker) + "</UploadIdMarker>";
  if (truncated) {
    out += "<NextKeyMarker>" + XmlEscape(next_key) + "</NextKeyMarker><NextUploadIdMarker>" +
           XmlEscape(next_id) + "</NextUploadIdMarker>";
  }
  out += "<Prefix>" + XmlEscape(prefix) + "</Prefix>";
  if (!delimiter.empty()) out += "<Delimiter>" + XmlEscape(delimiter) + "</Delimiter>";
  out += "<MaxUploads>" + std::to_string(max_uploads) + "</MaxUploads><IsTruncated>" +
         (truncated ? "true" : "false") + "</IsTruncated>" + uploads;
  for (const std::string& p : prefixes) {
    out += "<CommonPrefixes><Prefix>" + XmlEscape(p) + "</Prefix></CommonPrefixes>";
  }
  out += "</ListMultipartUploadsResult>";
  co_return XmlResponse(std::move(out));
}

}  // namespace nexus::gateway::s3
