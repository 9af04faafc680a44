#include "gateway/s3/aws_chunked.h"

#include <charconv>

#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kMaxHeaderLine = 256;
// Clients send 64 KiB chunks; anything near this is not a client's.
constexpr uint64_t kMaxChunkBytes = 64ull << 20;

S3Error Broken(std::string message) {
  return MakeS3Error(400, "IncompleteBody", "aws-chunked body: " + std::move(message));
}

S3Error BadSignature() {
  return MakeS3Error(403, "SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you "
                     "provided.");
}

}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(std::string signing_key, std::string amz_date,
                                     std::string scope, std::string seed_signature)
    : key_(std::move(signing_key)),
      amz_date_(std::move(amz_date)),
      scope_(std::move(scope)),
      previous_(std::move(seed_signature)) {}

std::optional<S3Error> AwsChunkedDecoder::StartChunk() {
  // "<hex size>;chunk-signature=<64 hex>"
  constexpr std::string_view kSig = ";chunk-signature=";
  const size_t semi = line_.find(kSig);
  if (semi == std::string::npos || semi == 0 || semi > 16) return Broken("malformed chunk header");
  uint64_t size = 0;
  auto [end, ec] = std::from_chars(line_.data(), line_.data() + semi, size, 16);
  if (ec != std::errc() || end != line_.data() + semi) return Broken("malformed chunk size");
  if (size > kMaxChunkBytes) return Broken("chunk too large");
  signature_ = line_.substr(semi + kSig.size());
  line_.clear();
  remaining_ = size;
  crypto_hash_sha256_init(&sha_);
  state_ = size == 0 ? State::kFinalEnd : State::kData;
  return std::nullopt;
}

bool AwsChunkedDecoder::ChunkSignatureHolds() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&sha_, digest);
  const std::string to_sign =
      "AWS4-HMAC-SHA256-PAYLOAD\n" + amz_date_ + "\n" + scope_ + "\n" + previous_ + "\n" +
      Sha256Hex("") + "\n" +
      HexOf(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  const std::string want = HexOf(HmacSha256(key_, to_sign));
  if (want.size() != signature_.size() ||
      sodium_memcmp(want.data(), signature_.data(), want.size()) != 0) {
    return false;
  }
  previous_ = signature_;
  return true;
}

std::optional<S3Error> AwsChunkedDecoder::Feed(std::string_view in, std::string* out) {
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return Broken("already failed");
      case State::kDone:
        state_ = State::kFailed;
        return Broken("bytes after the last chunk");
      case State::kHeader: {
        const size_t nl = in.find('\n');
        line_.append(in.substr(0, nl == std::string_view::npos ? in.size() : nl + 1));
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        if (line_.size() > kMaxHeaderLine) {
          state_ = State::kFailed;
          return Broken("chunk header too long");
        }
        if (nl == std::string_view::npos) break;
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
          state_ = State::kFailed;
          return Broken("chunk header without CRLF");
        }
        line_.resize(line_.size() - 2);
        if (auto e = StartChunk()) {
          state_ = State::kFailed;
          return e;
        }
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        crypto_hash_sha256_update(&sha_, reinterpret_cast<const unsigned char*>(in.data()), n);
        out->append(in.data(), n);
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd:
      case State::kFinalEnd: {
        const size_t n = std::min<size_t>(2 - line_.size(), in.size());
        line_.append(in.substr(0, n));
        in.remove_prefix(n);
        if (line_.size() < 2) break;
        const bool final = state_ == State::kFinalEnd;
        if (line_ != "\r\n") {
          state_ = State::kFailed;
          return Broken("chunk data without CRLF");
        }
        line_.clear();
        if (!ChunkSignatureHolds()) {
          state_ = State::kFailed;
          return BadSignature();
        }
        state_ = final ? State::kDone : State::kHeader;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace nexus::gateway::s3
