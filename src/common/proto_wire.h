// The few pieces of the protobuf wire format that nexusd and the gateway
// read and write by hand, so a large `bytes` payload can travel between a
// socket buffer and a chunk without being copied into a protobuf string:
// varints, tags, and the head (tag + length) of a length-delimited field.
//
// One set of limits for every reader: a varint is at most kMaxVarintBytes
// long and must fit in 64 bits, and a length-delimited field is at most
// kMaxLenFieldBytes (gRPC never carries a message of 4 GiB or more), so a
// malformed or hostile length is refused before anyone sizes a buffer by it.
//
// Decoding reads a serialized message given as pieces (gRPC slices, in
// order, split wherever HTTP/2 frames and socket reads ended), so a tag or
// varint may straddle pieces. Readers that answer nullopt leave the message
// to protobuf: the shortcut never decides what a message means.
// Pure functions and a cursor over caller-owned memory; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nexus::proto_wire {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// A varint of 64 bits takes at most ten bytes.
inline constexpr size_t kMaxVarintBytes = 10;
// The longest length-delimited field a reader accepts: under 4 GiB.
inline constexpr uint64_t kMaxLenFieldBytes = 0xffffffffu;
// Room for the tag and length of a length-delimited field (a field number
// takes at most five bytes of tag).
inline constexpr size_t kMaxLenFieldHeadBytes = 5 + kMaxVarintBytes;

constexpr uint64_t MakeTag(uint32_t field, WireType type) {
  return (uint64_t{field} << 3) | static_cast<uint64_t>(type);
}

// Writes `value` as a varint to `out` (room for kMaxVarintBytes); returns
// the bytes written.
size_t PutVarint(uint64_t value, char* out);
std::string EncodeVarint(uint64_t value);

// The bytes that precede a length-delimited field's `length` payload bytes:
// its tag, then the length. Writes to `out` (room for kMaxLenFieldHeadBytes);
// returns the bytes written.
size_t PutLenFieldHead(uint32_t field, uint64_t length, char* out);
std::string EncodeLenField(uint32_t field, std::string_view payload);

// Reads a serialized message held in `pieces` from the front, byte by byte
// across piece boundaries. The pieces must outlive the cursor.
class PieceCursor {
 public:
  explicit PieceCursor(std::span<const std::string_view> pieces) : pieces_(pieces) {}

  // false at the end of the pieces.
  bool ReadByte(uint8_t* out);
  // nullopt when the input ends inside the varint, or it is longer than
  // kMaxVarintBytes or overflows 64 bits.
  std::optional<uint64_t> ReadVarint();
  // The head of a length-delimited field: its field number and payload
  // length. nullopt for another wire type, a bad varint, field number 0, or
  // a length over kMaxLenFieldBytes.
  struct LenFieldHead {
    uint32_t field = 0;
    uint64_t length = 0;
  };
  std::optional<LenFieldHead> ReadLenFieldHead();

  // Bytes read so far.
  size_t consumed() const { return consumed_; }

 private:
  std::span<const std::string_view> pieces_;
  size_t piece_ = 0;
  size_t at_ = 0;  // in pieces_[piece_]
  size_t consumed_ = 0;
};

// Where the payload starts when the message in `pieces` (`total` bytes) is
// exactly one length-delimited field `field` whose length covers the rest of
// the message; nullopt for any other message (other or more fields, an
// empty one, a bad varint, a length that does not match `total`).
std::optional<size_t> SoleLenFieldPayload(std::span<const std::string_view> pieces, size_t total,
                                          uint32_t field);

// Copies bytes [offset, offset + length) of the concatenated `pieces` to
// `out`; the range must lie within them.
void CopyFromPieces(std::span<const std::string_view> pieces, size_t offset, size_t length,
                    char* out);

}  // namespace nexus::proto_wire
