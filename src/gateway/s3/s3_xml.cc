#include "gateway/s3/s3_xml.h"

#include <ctime>

#include "common/percent_encode.h"
#include "gateway/formats/markup_escape.h"
#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

constexpr std::string_view kHead = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr std::string_view kNamespace = " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";

void Element(std::string& out, std::string_view name, std::string_view text) {
  out += '<';
  out += name;
  out += '>';
  out += XmlEscape(text);
  out += "</";
  out += name;
  out += '>';
}

}  // namespace

std::string XmlEscape(std::string_view s) { return EscapeMarkup(s); }

std::string FormatUtc(int64_t unix_seconds, const char* format) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string Iso8601(int64_t unix_seconds) {
  return FormatUtc(unix_seconds, "%Y-%m-%dT%H:%M:%S.000Z");
}

Response XmlResponse(std::string body) {
  Response r;
  r.status = 200;
  r.headers.Set("Content-Type", "application/xml");
  r.body = std::move(body);
  return r;
}

Response ErrorResponse(const S3Error& error, std::string_view method, std::string_view resource,
                       std::string_view request_id) {
  Response r;
  r.status = error.http_status;
  if (method == "HEAD") return r;
  r.headers.Set("Content-Type", "application/xml");
  r.body = std::string(kHead) + "<Error>";
  Element(r.body, "Code", error.code);
  Element(r.body, "Message", error.message);
  Element(r.body, "Resource", resource);
  Element(r.body, "RequestId", request_id);
  r.body += "</Error>";
  return r;
}

std::string ListBucketsXml(std::string_view owner_id, std::string_view owner_name,
                           const std::vector<BucketInfo>& buckets) {
  std::string out =
      std::string(kHead) + "<ListAllMyBucketsResult" + std::string(kNamespace) + "><Owner>";
  Element(out, "ID", owner_id);
  Element(out, "DisplayName", owner_name);
  out += "</Owner><Buckets>";
  for (const BucketInfo& b : buckets) {
    out += "<Bucket>";
    Element(out, "Name", b.name);
    Element(out, "CreationDate", Iso8601(b.created));
    out += "</Bucket>";
  }
  out += "</Buckets></ListAllMyBucketsResult>";
  return out;
}

std::string ListObjectsXml(const ListEcho& e, const ListPage& page) {
  // encoding-type=url: keys and prefixes percent-encoded (keeping '/'), so
  // keys with bytes XML 1.0 cannot carry still list.
  auto text = [&](const std::string& s) { return e.url_encoded ? PercentEncode(s, true) : s; };
  std::string out = std::string(kHead) + "<ListBucketResult" + std::string(kNamespace) + ">";
  Element(out, "Name", e.bucket);
  Element(out, "Prefix", text(e.prefix));
  if (!e.delimiter.empty()) Element(out, "Delimiter", text(e.delimiter));
  Element(out, "MaxKeys", std::to_string(e.max_keys));
  if (e.url_encoded) Element(out, "EncodingType", "url");
  Element(out, "IsTruncated", page.truncated ? "true" : "false");
  if (e.kind == ListKind::kV2) {
    Element(out, "KeyCount", std::to_string(page.contents.size() + page.common_prefixes.size()));
    if (!e.continuation.empty()) Element(out, "ContinuationToken", e.continuation);
    if (!e.next_continuation.empty()) Element(out, "NextContinuationToken", e.next_continuation);
    if (!e.start_after.empty()) Element(out, "StartAfter", text(e.start_after));
  } else {
    Element(out, "Marker", text(e.marker));
    // S3 sends NextMarker only with a delimiter; without one a client
    // resumes after the last key.
    if (page.truncated && !e.delimiter.empty()) Element(out, "NextMarker", text(page.last));
  }
  for (const ObjectEntry& o : page.contents) {
    out += "<Contents>";
    Element(out, "Key", text(o.key));
    Element(out, "LastModified", Iso8601(o.modified));
    Element(out, "ETag", o.etag);
    Element(out, "Size", std::to_string(o.size));
    Element(out, "StorageClass", "STANDARD");
    out += "</Contents>";
  }
  for (const std::string& p : page.common_prefixes) {
    out += "<CommonPrefixes>";
    Element(out, "Prefix", text(p));
    out += "</CommonPrefixes>";
  }
  out += "</ListBucketResult>";
  return out;
}

std::string ListVersionsXml(const ListEcho& e, const ListPage& page, std::string_view owner_id,
                            std::string_view owner_name) {
  auto text = [&](const std::string& s) { return e.url_encoded ? PercentEncode(s, true) : s; };
  std::string out = std::string(kHead) + "<ListVersionsResult" + std::string(kNamespace) + ">";
  Element(out, "Name", e.bucket);
  Element(out, "Prefix", text(e.prefix));
  Element(out, "KeyMarker", text(e.marker));
  Element(out, "VersionIdMarker", "");
  if (page.truncated) {
    Element(out, "NextKeyMarker", text(page.last));
    Element(out, "NextVersionIdMarker", "null");
  }
  if (!e.delimiter.empty()) Element(out, "Delimiter", text(e.delimiter));
  Element(out, "MaxKeys", std::to_string(e.max_keys));
  if (e.url_encoded) Element(out, "EncodingType", "url");
  Element(out, "IsTruncated", page.truncated ? "true" : "false");
  for (const ObjectEntry& o : page.contents) {
    out += "<Version>";
    Element(out, "Key", text(o.key));
    Element(out, "VersionId", "null");
    Element(out, "IsLatest", "true");
    Element(out, "LastModified", Iso8601(o.modified));
    Element(out, "ETag", o.etag);
    Element(out, "Size", std::to_string(o.size));
    out += "<Owner>";
    Element(out, "ID", owner_id);
    Element(out, "DisplayName", owner_name);
    out += "</Owner>";
    Element(out, "StorageClass", "STANDARD");
    out += "</Version>";
  }
  for (const std::string& p : page.common_prefixes) {
    out += "<CommonPrefixes>";
    Element(out, "Prefix", text(p));
    out += "</CommonPrefixes>";
  }
  out += "</ListVersionsResult>";
  return out;
}

std::string VersioningXml() {
  return std::string(kHead) + "<VersioningConfiguration" + std::string(kNamespace) + "/>";
}

std::string CopyObjectXml(std::string_view etag, int64_t modified) {
  std::string out = std::string(kHead) + "<CopyObjectResult" + std::string(kNamespace) + ">";
  Element(out, "LastModified", Iso8601(modified));
  Element(out, "ETag", etag);
  out += "</CopyObjectResult>";
  return out;
}

std::string LocationXml(std::string_view region) {
  // us-east-1 is the empty constraint, as S3 answers it.
  std::string out = std::string(kHead) + "<LocationConstraint" + std::string(kNamespace) + ">";
  if (region != "us-east-1") out += XmlEscape(region);
  out += "</LocationConstraint>";
  return out;
}

}  // namespace nexus::gateway::s3
