// AddressOf: which bucket and key an S3 request names. Path-style
// (http://host/bucket/key) always works; virtual-host style
// (http://bucket.<domain>/key), which SDKs use by default for a named
// endpoint, works when [s3] domain is set, as MinIO's MINIO_DOMAIN. A
// request for the domain itself is path-style. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::gateway::s3 {

struct S3Address {
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // "" for a bucket; percent-decoded
};

// `host`: the Host header (a port is ignored, case too); `raw_path`: the
// request path, still percent-encoded; `domain`: "" for path-style only.
S3Address AddressOf(std::string_view host, std::string_view raw_path, std::string_view domain);

}  // namespace nexus::gateway::s3
