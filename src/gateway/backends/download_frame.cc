#include "gateway/backends/download_frame.h"

#include <algorithm>
#include <cstring>

namespace nexus::gateway {
namespace {

// DownloadResponse.data: field 2, wire type 2 (length-delimited).
constexpr unsigned char kDataTag = (2 << 3) | 2;
// A length varint longer than this cannot describe a message gRPC would have
// accepted (its limit is far below 2^35), so it is not ours to shortcut.
constexpr size_t kMaxLengthVarintBytes = 5;

}  // namespace

std::optional<DataPayload> DownloadDataPayload(std::span<const std::string_view> pieces,
                                               size_t total) {
  // The tag and the length varint may straddle pieces (gRPC splits a message
  // wherever HTTP/2 frames and socket reads ended): walk byte by byte.
  size_t piece = 0;
  size_t at = 0;
  size_t consumed = 0;
  auto next_byte = [&](unsigned char* out) {
    while (piece < pieces.size() && at >= pieces[piece].size()) {
      ++piece;
      at = 0;
    }
    if (piece == pieces.size()) return false;
    *out = static_cast<unsigned char>(pieces[piece][at++]);
    ++consumed;
    return true;
  };

  unsigned char byte = 0;
  if (!next_byte(&byte) || byte != kDataTag) return std::nullopt;
  uint64_t length = 0;
  for (size_t i = 0;; ++i) {
    if (i == kMaxLengthVarintBytes || !next_byte(&byte)) return std::nullopt;
    length |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) break;
  }
  if (consumed > total || length != total - consumed) return std::nullopt;
  return DataPayload{consumed, static_cast<size_t>(length)};
}

void CopyFromPieces(std::span<const std::string_view> pieces, size_t offset, size_t length,
                    char* out) {
  for (std::string_view p : pieces) {
    if (length == 0) return;
    if (offset >= p.size()) {
      offset -= p.size();
      continue;
    }
    const size_t n = std::min(length, p.size() - offset);
    std::memcpy(out, p.data() + offset, n);
    out += n;
    length -= n;
    offset = 0;
  }
}

}  // namespace nexus::gateway
