// AwsChunkedDecoder: the body of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// request (Content-Encoding: aws-chunked), decoded as it arrives.
//
// The body is a run of chunks "<hex size>;chunk-signature=<sig>\r\n<data>\r\n"
// ending with a chunk of size 0. Each chunk's signature chains on the one
// before it (the first on the seed: the request's own signature) over the
// SHA-256 of its data, so a chunk that was changed, dropped, reordered or
// added fails. Data is handed out as it arrives, before its chunk's
// signature can be checked: the caller must drop everything it wrote when a
// later Feed fails (an upload is then cancelled and nexusd keeps nothing).
// Not thread-safe: one per request.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/s3/s3_error.h"

namespace nexus::gateway::s3 {

class AwsChunkedDecoder {
 public:
  // `signing_key`: the request's derived key (SigningKey); `scope`:
  // "YYYYMMDD/region/s3/aws4_request"; `seed_signature`: the request's.
  AwsChunkedDecoder(std::string signing_key, std::string amz_date, std::string scope,
                    std::string seed_signature);

  // Decodes `in`, appending the chunks' data to `*out`; an error once the
  // framing or a signature is wrong (every later call fails too).
  std::optional<S3Error> Feed(std::string_view in, std::string* out);
  // The last chunk has been read and checked.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kHeader, kData, kDataEnd, kFinalEnd, kDone, kFailed };

  std::optional<S3Error> StartChunk();
  bool ChunkSignatureHolds();

  const std::string key_;
  const std::string amz_date_;
  const std::string scope_;
  std::string previous_;  // signature of the chunk before (the seed at first)
  State state_ = State::kHeader;
  std::string line_;        // the header line or CRLF read so far
  uint64_t remaining_ = 0;  // data bytes of the current chunk still to come
  std::string signature_;   // the current chunk's, as sent
  crypto_hash_sha256_state sha_;
};

}  // namespace nexus::gateway::s3
