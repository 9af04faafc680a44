// The XML bodies of the S3 API: error documents and the answers of the
// bucket and listing operations, written as text (the shapes are fixed and
// flat; nothing here parses). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/s3/s3_error.h"
#include "gateway/s3/s3_listing.h"

namespace nexus::gateway::s3 {

// &, <, >, " and ' as character references (formats/markup_escape.h).
std::string XmlEscape(std::string_view s);
// `unix_seconds` in UTC through strftime's `format`.
std::string FormatUtc(int64_t unix_seconds, const char* format);
// "2013-05-24T00:00:00.000Z".
std::string Iso8601(int64_t unix_seconds);

// An error answer: S3's <Error> document (no body for a HEAD request, as S3).
Response ErrorResponse(const S3Error& error, std::string_view method, std::string_view resource,
                       std::string_view request_id);
// 200 with an XML body.
Response XmlResponse(std::string body);

struct BucketInfo {
  std::string name;
  int64_t created = 0;  // unix seconds
};
std::string ListBucketsXml(std::string_view owner_id, std::string_view owner_name,
                           const std::vector<BucketInfo>& buckets);

// Which listing a request asked for.
enum class ListKind { kV1, kV2, kVersions };

// What a ListObjects request asked, echoed in its answer.
struct ListEcho {
  ListKind kind = ListKind::kV2;
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  int64_t max_keys = 1000;
  bool url_encoded = false;       // encoding-type=url
  std::string marker;             // v1; key-marker of a versions listing
  std::string start_after;        // v2
  std::string continuation;       // v2, as sent
  std::string next_continuation;  // v2, when truncated
};
std::string ListObjectsXml(const ListEcho& echo, const ListPage& page);
// ListObjectVersions of an unversioned bucket: each object is its one
// version, "null", the latest; there are no delete markers.
std::string ListVersionsXml(const ListEcho& echo, const ListPage& page, std::string_view owner_id,
                            std::string_view owner_name);
// GetBucketVersioning of a bucket versioning was never enabled on.
std::string VersioningXml();

std::string CopyObjectXml(std::string_view etag, int64_t modified);
std::string LocationXml(std::string_view region);

}  // namespace nexus::gateway::s3
