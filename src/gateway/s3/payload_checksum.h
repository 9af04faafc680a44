// PayloadChecksum: the additional checksums S3 clients send with an upload
// (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256), computed over
// the body as it streams so the upload can be refused when the client's
// value differs. Newer SDKs send one by default (CRC32 since the 2025
// releases), in a header or in an aws-chunked trailer (aws_chunked.h).
//
// Values travel as the base64 of the big-endian digest. Not thread-safe: one
// per request.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::gateway::s3 {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "x-amz-checksum-crc32", ... (lowercase).
std::string ChecksumHeaderName(ChecksumAlgorithm algorithm);
// The algorithm a header or trailer name (any case) names; nullopt for one
// that names none.
std::optional<ChecksumAlgorithm> ChecksumAlgorithmOfHeader(std::string_view name);

class PayloadChecksum {
 public:
  explicit PayloadChecksum(ChecksumAlgorithm algorithm);
  ~PayloadChecksum();
  PayloadChecksum(const PayloadChecksum&) = delete;
  PayloadChecksum& operator=(const PayloadChecksum&) = delete;

  ChecksumAlgorithm algorithm() const { return algorithm_; }
  void Update(std::string_view bytes);
  // The base64 of the digest of everything Updated; ends the computation.
  std::string FinishBase64();

 private:
  ChecksumAlgorithm algorithm_;
  uint64_t crc_ = 0;
  EVP_MD_CTX* md_ = nullptr;  // the SHA ones
};

// Whether two base64 values carry the same digest (padding and the like
// aside); false when `claimed` is not base64.
bool SameChecksum(std::string_view claimed, std::string_view computed);

}  // namespace nexus::gateway::s3
