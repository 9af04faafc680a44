// SigV4: verification of AWS Signature Version 4 on S3 requests, as pure
// functions of the request's method, target and headers (no I/O, no
// sockets), in two steps so the secret is looked up only for a well-formed
// request:
//
//   ParseSigV4    reads the Authorization header (or, for a presigned URL,
//                 the X-Amz-* query parameters), checks the credential scope
//                 (our region, service s3) and the time (15 minutes of skew
//                 either way, as AWS allows; a presigned URL's X-Amz-Expires),
//                 and builds the canonical request and the string to sign;
//   VerifySigV4   derives the signing key from the secret and compares
//                 signatures in constant time.
//
// Canonicalisation follows S3's rules, which differ from other services':
// the path is not normalised ("." and ".." and "//" are key bytes), each path
// segment is percent-encoded once; query parameters are decoded, re-encoded
// and sorted by name then value; signed headers are lower-cased, their values
// trimmed with inner runs of spaces collapsed, repeated fields joined by ','.
// The payload hash is the x-amz-content-sha256 header as sent
// (UNSIGNED-PAYLOAD, a hex SHA-256, or a streaming marker): checking a hex
// hash against the body is the caller's job, since only it reads the body.
// A presigned URL always covers an unsigned payload.
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/s3/s3_error.h"

namespace nexus::gateway::s3 {

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// The x-amz-content-sha256 of the aws-chunked bodies (aws_chunked.h).
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// How far a request's X-Amz-Date may be from our clock (AWS's figure).
inline constexpr int64_t kMaxClockSkewSeconds = 15 * 60;
// The longest a presigned URL may be valid (AWS's figure: 7 days).
inline constexpr int64_t kMaxPresignedExpirySeconds = 7 * 24 * 3600;

// What a signature is computed over, as the request arrived.
struct SigV4Request {
  std::string_view method;
  std::string_view target;  // path and query, percent-encoded as sent
  const Headers& headers;
};

// A parsed, scope- and time-checked request, ready for VerifySigV4.
struct SigV4Auth {
  bool presigned = false;
  std::string access_key;
  std::string date;  // YYYYMMDD of the credential scope
  std::string region;
  std::string service;   // always "s3" once parsed
  std::string amz_date;  // YYYYMMDDTHHMMSSZ
  std::vector<std::string> signed_headers;
  std::string signature;     // lower-case hex, as sent
  std::string payload_hash;  // x-amz-content-sha256, or UNSIGNED-PAYLOAD when presigned
  std::string canonical_request;
  std::string string_to_sign;
};

// An error (AccessDenied, AuthorizationHeaderMalformed, RequestTimeTooSkewed,
// ...) or the parsed request. `region` is the one this endpoint serves;
// `now` is unix seconds.
std::variant<SigV4Auth, S3Error> ParseSigV4(const SigV4Request& req, std::string_view region,
                                            int64_t now);

// True when `auth.signature` is the signature of its string to sign under
// `secret_key`.
bool VerifySigV4(const SigV4Auth& auth, std::string_view secret_key);

// The building blocks, exposed for tests and for signing chunk signatures of
// aws-chunked bodies.
// The canonical request over `signed_headers` (lower-case, in order);
// `*missing` is set (and "" returned) when one of them is not in the request.
std::string CanonicalRequest(const SigV4Request& req,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash, bool presigned, bool* missing);
// `scope` is "YYYYMMDD/region/service/aws4_request".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
std::string CanonicalUri(std::string_view raw_path);
// `drop_signature` leaves X-Amz-Signature out (a presigned URL's own).
std::string CanonicalQuery(std::string_view raw_query, bool drop_signature);
// Empty when a signed header is absent from the request.
std::string CanonicalHeaders(const Headers& headers, const std::vector<std::string>& names,
                             bool* missing);
std::string SigningKey(std::string_view secret_key, std::string_view date, std::string_view region,
                       std::string_view service);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HexOf(std::string_view bytes);
// Percent-decoding as S3 does it: a malformed escape stays as it was, and
// '+' is a plus.
std::string PercentDecode(std::string_view s);

}  // namespace nexus::gateway::s3
