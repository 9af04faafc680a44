// S3Error: an S3 error as a client reads it (HTTP status, the S3 code SDKs
// branch on, a message). The S3 listener answers every failure with one of
// these in S3's XML error body; nothing here knows about XML or sockets.
// Value type; thread-compatible.
#pragma once

#include <string>
#include <utility>

namespace nexus::gateway::s3 {

struct S3Error {
  int http_status = 500;
  std::string code;  // "SignatureDoesNotMatch", "NoSuchKey", ...
  std::string message;
};

inline S3Error MakeS3Error(int http_status, std::string code, std::string message) {
  return S3Error{http_status, std::move(code), std::move(message)};
}

}  // namespace nexus::gateway::s3
