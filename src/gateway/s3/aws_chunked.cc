#include "gateway/s3/aws_chunked.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>

#include "gateway/http/http_types.h"
#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

constexpr size_t kMaxHeaderLine = 256;
// Clients send 64 KiB chunks; anything near this is not a client's.
constexpr uint64_t kMaxChunkBytes = 64ull << 20;
// A trailer carries a checksum or two, and its signature.
constexpr size_t kMaxTrailerBytes = 4096;
constexpr std::string_view kTrailerSignature = "x-amz-trailer-signature";

S3Error Broken(std::string message) {
  return MakeS3Error(400, "IncompleteBody", "aws-chunked body: " + std::move(message));
}

S3Error BadSignature() {
  return MakeS3Error(403, "SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you "
                     "provided.");
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool SameSignature(const std::string& want, const std::string& got) {
  return want.size() == got.size() && sodium_memcmp(want.data(), got.data(), want.size()) == 0;
}

}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(ChunkedBody body)
    : signing_(std::move(body.signing)),
      trailer_(body.trailer),
      previous_(signing_ ? signing_->seed_signature : "") {}

std::optional<S3Error> AwsChunkedDecoder::StartChunk() {
  // "<hex size>;chunk-signature=<64 hex>" when signed, "<hex size>" if not
  // (extensions after a ';' are then ignored).
  constexpr std::string_view kSig = ";chunk-signature=";
  size_t size_end = line_.find(';');
  if (signing_) {
    size_end = line_.find(kSig);
    if (size_end == std::string::npos) return Broken("malformed chunk header");
    signature_ = line_.substr(size_end + kSig.size());
  }
  if (size_end == std::string::npos) size_end = line_.size();
  if (size_end == 0 || size_end > 16) return Broken("malformed chunk header");
  uint64_t size = 0;
  auto [end, ec] = std::from_chars(line_.data(), line_.data() + size_end, size, 16);
  if (ec != std::errc() || end != line_.data() + size_end) return Broken("malformed chunk size");
  if (size > kMaxChunkBytes) return Broken("chunk too large");
  line_.clear();
  remaining_ = size;
  if (size > 0) {
    state_ = State::kData;
  } else if (!trailer_) {
    state_ = State::kFinalEnd;
  } else {
    // The trailer's lines follow the last chunk's header directly.
    if (signing_ && !ChunkSignatureHolds()) return BadSignature();
    state_ = State::kTrailer;
  }
  return std::nullopt;
}

bool AwsChunkedDecoder::ChunkSignatureHolds() {
  const std::string to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n" + signing_->amz_date + "\n" +
                              signing_->scope + "\n" + previous_ + "\n" + Sha256Hex("") + "\n" +
                              ToHex(sha_.Finish());
  if (!SameSignature(HexOf(HmacSha256(signing_->signing_key, to_sign)), signature_)) return false;
  previous_ = signature_;
  return true;
}

std::optional<S3Error> AwsChunkedDecoder::TrailerLine() {
  const size_t colon = line_.find(':');
  if (colon == std::string::npos || colon == 0) return Broken("malformed trailer line");
  std::string name = AsciiLower(std::string_view(line_).substr(0, colon));
  std::string value(Trimmed(std::string_view(line_).substr(colon + 1)));
  line_.clear();
  if (name == kTrailerSignature) {
    if (!signing_ || !trailer_signature_.empty()) return Broken("unexpected trailer signature");
    trailer_signature_ = std::move(value);
    return std::nullopt;
  }
  if (!trailer_signature_.empty()) return Broken("trailer line after its signature");
  if (std::any_of(trailers_.begin(), trailers_.end(),
                  [&](const auto& t) { return t.first == name; })) {
    return Broken("repeated trailer " + name);
  }
  trailers_.emplace_back(std::move(name), std::move(value));
  return std::nullopt;
}

std::optional<S3Error> AwsChunkedDecoder::EndTrailer() {
  if (signing_) {
    if (trailer_signature_.empty()) return BadSignature();
    std::vector<std::pair<std::string, std::string>> sorted = trailers_;
    std::sort(sorted.begin(), sorted.end());
    std::string canonical;
    for (const auto& [name, value] : sorted) canonical += name + ":" + value + "\n";
    const std::string to_sign = "AWS4-HMAC-SHA256-TRAILER\n" + signing_->amz_date + "\n" +
                                signing_->scope + "\n" + previous_ + "\n" + Sha256Hex(canonical);
    if (!SameSignature(HexOf(HmacSha256(signing_->signing_key, to_sign)), trailer_signature_)) {
      return BadSignature();
    }
  }
  state_ = State::kDone;
  return std::nullopt;
}

std::optional<S3Error> AwsChunkedDecoder::Feed(std::string_view in, std::string* out) {
  auto fail = [this](S3Error e) {
    state_ = State::kFailed;
    return e;
  };
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return Broken("already failed");
      case State::kDone:
        return fail(Broken("bytes after the last chunk"));
      case State::kHeader:
      case State::kTrailer: {
        const size_t nl = in.find('\n');
        const size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
        line_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (state_ == State::kTrailer) {
          trailer_bytes_ += take;
          if (trailer_bytes_ > kMaxTrailerBytes) return fail(Broken("trailer too long"));
        } else if (line_.size() > kMaxHeaderLine) {
          return fail(Broken("chunk header too long"));
        }
        if (nl == std::string_view::npos) break;
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
          return fail(Broken("line without CRLF"));
        }
        line_.resize(line_.size() - 2);
        std::optional<S3Error> e;
        if (state_ == State::kHeader) {
          e = StartChunk();
        } else if (line_.empty()) {
          e = EndTrailer();
        } else {
          e = TrailerLine();
        }
        if (e) return fail(*e);
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        if (signing_) sha_.Update(in.substr(0, n));
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
        if (line_ != "\r\n") return fail(Broken("chunk data without CRLF"));
        line_.clear();
        if (signing_ && !ChunkSignatureHolds()) return fail(BadSignature());
        state_ = final ? State::kDone : State::kHeader;
        break;
      }
    }
  }
  return std::nullopt;
}

std::optional<S3Error> AwsChunkedDecoder::Finish() {
  if (state_ == State::kDone) return std::nullopt;
  // Some clients end the body after the trailer's last line, without the
  // empty line; what was read is whole, so that is no loss.
  if (state_ == State::kTrailer && line_.empty() && !trailers_.empty()) {
    if (std::optional<S3Error> e = EndTrailer()) {
      state_ = State::kFailed;
      return e;
    }
    return std::nullopt;
  }
  state_ = State::kFailed;
  return MakeS3Error(400, "IncompleteBody", "The aws-chunked body ended before its last chunk.");
}

}  // namespace nexus::gateway::s3
