// What an S3 object keeps beside its bytes: the representation headers a
// PUT may set (Content-Type, Content-Encoding, Content-Disposition,
// Content-Language, Cache-Control, Expires) and its x-amz-meta-* user
// metadata, answered again by GET and HEAD.
//
// They are kept as one WebDAV dead property of the object's tree entry
// ({urn:nexus:s3}metadata), so they move, copy and disappear with the entry
// in every face of the tree, and WebDAV clients see them as a property.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/s3/s3_error.h"

namespace nexus::gateway::s3 {

inline constexpr std::string_view kMetadataNamespace = "urn:nexus:s3";
inline constexpr std::string_view kMetadataProperty = "metadata";
// S3's limit on the user metadata of one object (names and values).
inline constexpr size_t kMaxUserMetadataBytes = 2048;

// The additional checksum (payload_checksum.h) an upload sent and the
// gateway checked, kept for GETs that ask for it. It names the content
// it was computed over by that content's SHA-256, so a write through
// another face of the tree (which keeps the entry's properties) leaves a
// checksum that no longer applies, and is not answered.
struct StoredChecksum {
  std::string name;    // "x-amz-checksum-crc32", ...
  std::string value;   // base64
  std::string sha256;  // hex, of the content it belongs to
};

struct ObjectMetadata {
  // Names as GET answers them: "Content-Type", ..., "x-amz-meta-<lowercase
  // name>"; in the order the request sent them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<StoredChecksum> checksum;

  bool empty() const { return headers.empty() && !checksum; }
  // The stored Content-Type; nullptr when none was set.
  const std::string* content_type() const;
};

// The metadata a PUT (or a copy with x-amz-metadata-directive REPLACE)
// sets. User metadata over kMaxUserMetadataBytes is 400 MetadataTooLarge; a
// value that is not valid UTF-8 text is 400 InvalidArgument.
std::variant<ObjectMetadata, S3Error> MetadataOfRequest(const Headers& headers);

// The dead property's value: a self-contained XML element.
std::string EncodeMetadata(const ObjectMetadata& metadata);
// The metadata in a value EncodeMetadata wrote; nullopt when it is not one.
std::optional<ObjectMetadata> DecodeMetadata(std::string_view value);

// Sets the stored headers on a GET or HEAD answer, then the overrides a
// (presigned) GET asked for with response-content-type,
// response-content-disposition, ... query parameters. Without a stored or
// asked Content-Type the answer says binary/octet-stream, as S3 does.
void ApplyMetadata(const ObjectMetadata& metadata, const Request& req, Response& r);

// Sets the stored checksum on a GET or HEAD answer when the request asked
// for it (x-amz-checksum-mode: ENABLED), is for the whole object (no Range)
// and the checksum belongs to the content now there (`content_sha256`).
void ApplyChecksum(const ObjectMetadata& metadata, std::string_view content_sha256,
                   const Request& req, Response& r);

}  // namespace nexus::gateway::s3
