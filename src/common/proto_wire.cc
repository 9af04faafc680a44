#include "common/proto_wire.h"

#include <algorithm>
#include <cstring>

namespace nexus::proto_wire {

size_t PutVarint(uint64_t value, char* out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<char>(value);
  return n;
}

std::string EncodeVarint(uint64_t value) {
  char buf[kMaxVarintBytes];
  return std::string(buf, PutVarint(value, buf));
}

size_t PutLenFieldHead(uint32_t field, uint64_t length, char* out) {
  const size_t n = PutVarint(MakeTag(field, WireType::kLen), out);
  return n + PutVarint(length, out + n);
}

std::string EncodeLenField(uint32_t field, std::string_view payload) {
  char head[kMaxLenFieldHeadBytes];
  std::string out(head, PutLenFieldHead(field, payload.size(), head));
  out.append(payload);
  return out;
}

bool PieceCursor::ReadByte(uint8_t* out) {
  while (piece_ < pieces_.size() && at_ >= pieces_[piece_].size()) {
    ++piece_;
    at_ = 0;
  }
  if (piece_ == pieces_.size()) return false;
  *out = static_cast<uint8_t>(pieces_[piece_][at_++]);
  ++consumed_;
  return true;
}

std::optional<uint64_t> PieceCursor::ReadVarint() {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    uint8_t byte = 0;
    if (!ReadByte(&byte)) return std::nullopt;
    // The tenth byte holds the 64th bit alone: anything more overflows.
    if (i == kMaxVarintBytes - 1 && byte > 1) return std::nullopt;
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

std::optional<PieceCursor::LenFieldHead> PieceCursor::ReadLenFieldHead() {
  std::optional<uint64_t> tag = ReadVarint();
  if (!tag || (*tag & 7) != static_cast<uint64_t>(WireType::kLen)) return std::nullopt;
  const uint64_t field = *tag >> 3;
  if (field == 0 || field > 0x1fffffff) return std::nullopt;  // protobuf's field number range
  std::optional<uint64_t> length = ReadVarint();
  if (!length || *length > kMaxLenFieldBytes) return std::nullopt;
  return LenFieldHead{static_cast<uint32_t>(field), *length};
}

std::optional<size_t> SoleLenFieldPayload(std::span<const std::string_view> pieces, size_t total,
                                          uint32_t field) {
  PieceCursor cursor(pieces);
  std::optional<PieceCursor::LenFieldHead> head = cursor.ReadLenFieldHead();
  if (!head || head->field != field) return std::nullopt;
  if (cursor.consumed() > total || head->length != total - cursor.consumed()) return std::nullopt;
  return cursor.consumed();
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

}  // namespace nexus::proto_wire
