// AwsChunkedDecoder: the body of an aws-chunked request (Content-Encoding:
// aws-chunked), decoded as it arrives. Three kinds, named by the request's
// x-amz-content-sha256:
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD          signed chunks
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  signed chunks, signed trailer
//   STREAMING-UNSIGNED-PAYLOAD-TRAILER          plain chunks, trailer
//
// The body is a run of chunks "<hex size>[;chunk-signature=<sig>]\r\n<data>
// \r\n" ending with a chunk of size 0. A signed chunk's signature chains on
// the one before it (the first on the seed: the request's own signature)
// over the SHA-256 of its data, so a chunk that was changed, dropped,
// reordered or added fails. With a trailer, header lines "name:value\r\n"
// follow the last chunk up to an empty line; the signed kind ends them with
// x-amz-trailer-signature, which chains on the last chunk's signature over
// the other lines. Newer SDKs send their checksum there
// (x-amz-checksum-crc32:...), since it is known only once the data is sent.
//
// Data is handed out as it arrives, before its chunk's signature can be
// checked: the caller must drop everything it wrote when a later Feed or
// Finish fails (an upload is then cancelled and nexusd keeps nothing). Not
// thread-safe: one per request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/sha256.h"
#include "gateway/s3/s3_error.h"

namespace nexus::gateway::s3 {

// What the chunks of a signed aws-chunked body are signed with.
struct ChunkSigning {
  std::string signing_key;     // the request's derived key (SigningKey)
  std::string amz_date;        // the request's X-Amz-Date
  std::string scope;           // "YYYYMMDD/region/s3/aws4_request"
  std::string seed_signature;  // the request's signature
};

// How an aws-chunked body is framed: its chunks signed or not, and whether
// a trailer follows them.
struct ChunkedBody {
  std::optional<ChunkSigning> signing;
  bool trailer = false;
};

class AwsChunkedDecoder {
 public:
  explicit AwsChunkedDecoder(ChunkedBody body);

  // Decodes `in`, appending the chunks' data to `*out`; an error once the
  // framing or a signature is wrong (every later call fails too).
  std::optional<S3Error> Feed(std::string_view in, std::string* out);
  // At the end of the body: an error unless it ended where it may (after
  // the last chunk and, with a trailer, after its lines).
  std::optional<S3Error> Finish();
  // The trailer's lines (lowercase names, values trimmed; the signature
  // left out) once Finish succeeded.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  enum class State { kHeader, kData, kDataEnd, kFinalEnd, kTrailer, kDone, kFailed };

  std::optional<S3Error> StartChunk();
  bool ChunkSignatureHolds();
  std::optional<S3Error> TrailerLine();
  std::optional<S3Error> EndTrailer();

  const std::optional<ChunkSigning> signing_;
  const bool trailer_;
  std::string previous_;  // signature of the chunk before (the seed at first)
  State state_ = State::kHeader;
  std::string line_;        // the header line or CRLF read so far
  uint64_t remaining_ = 0;  // data bytes of the current chunk still to come
  std::string signature_;   // the current chunk's, as sent
  Sha256 sha_;              // of the current chunk's data
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string trailer_signature_;
  size_t trailer_bytes_ = 0;
};

}  // namespace nexus::gateway::s3
