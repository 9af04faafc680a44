// proto_wire against protobuf's own encoding rules: varints and field heads
// round-trip, pieces may split anywhere, and input that is truncated,
// overlong or describes a field of 4 GiB or more is refused.
#include "common/proto_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace nexus::proto_wire {
namespace {

// `wire` split at `cuts` (increasing offsets).
std::vector<std::string_view> Split(std::string_view wire, std::vector<size_t> cuts) {
  std::vector<std::string_view> pieces;
  size_t from = 0;
  for (size_t cut : cuts) {
    pieces.push_back(wire.substr(from, cut - from));
    from = cut;
  }
  pieces.push_back(wire.substr(from));
  return pieces;
}

std::optional<uint64_t> DecodeVarint(std::string_view wire) {
  std::string_view piece[] = {wire};
  PieceCursor cursor(piece);
  return cursor.ReadVarint();
}

TEST(ProtoWireTest, VarintsRoundTripAtEveryLengthBoundary) {
  const uint64_t values[] = {0,
                             1,
                             127,
                             128,
                             16383,
                             16384,
                             (uint64_t{1} << 32) - 1,
                             uint64_t{1} << 32,
                             (uint64_t{1} << 63) - 1,
                             std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) {
    const std::string wire = EncodeVarint(v);
    EXPECT_LE(wire.size(), kMaxVarintBytes) << v;
    EXPECT_EQ(DecodeVarint(wire), v) << v;
  }
  EXPECT_EQ(EncodeVarint(300), std::string("\xac\x02", 2));
}

TEST(ProtoWireTest, RefusesTruncatedVarints) {
  EXPECT_FALSE(DecodeVarint("").has_value());
  EXPECT_FALSE(DecodeVarint(std::string("\x80", 1)).has_value());
  EXPECT_FALSE(DecodeVarint(std::string("\xff\xff\xff", 3)).has_value());
}

TEST(ProtoWireTest, RefusesOverlongAndOverflowingVarints) {
  // Eleven bytes: longer than any 64-bit value needs.
  EXPECT_FALSE(DecodeVarint(std::string(10, '\x80') + std::string("\x01", 1)).has_value());
  // Ten bytes whose last carries more than the 64th bit.
  EXPECT_FALSE(DecodeVarint(std::string(9, '\xff') + std::string("\x02", 1)).has_value());
  // A non-minimal encoding of a small value still decodes (protobuf accepts it).
  EXPECT_EQ(DecodeVarint(std::string("\x85\x80\x00", 3)), 5u);
}

TEST(ProtoWireTest, LenFieldsRoundTripAcrossEveryPieceSplit) {
  const std::string payload(300, 'p');  // a two-byte length varint
  const std::string wire = EncodeLenField(7, payload);
  for (size_t a = 0; a <= 4; ++a) {
    for (size_t b = a; b <= 5; ++b) {
      std::vector<std::string_view> pieces = Split(wire, {a, b});
      std::optional<size_t> at = SoleLenFieldPayload(pieces, wire.size(), 7);
      ASSERT_TRUE(at.has_value()) << a << "," << b;
      std::string copy(wire.size() - *at, 'x');
      CopyFromPieces(pieces, *at, copy.size(), copy.data());
      EXPECT_EQ(copy, payload) << a << "," << b;
    }
  }
}

TEST(ProtoWireTest, ReadsTheFieldNumberAndLengthOfAFieldHead) {
  char head[kMaxLenFieldHeadBytes];
  const size_t n = PutLenFieldHead(536870911, 1 << 20, head);  // the largest field number
  EXPECT_LE(n, kMaxLenFieldHeadBytes);
  std::string_view piece[] = {std::string_view(head, n)};
  PieceCursor cursor(piece);
  std::optional<PieceCursor::LenFieldHead> read = cursor.ReadLenFieldHead();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->field, 536870911u);
  EXPECT_EQ(read->length, 1u << 20);
  EXPECT_EQ(cursor.consumed(), n);
}

TEST(ProtoWireTest, RefusesAFieldOf4GiBOrMore) {
  char head[kMaxLenFieldHeadBytes];
  const uint64_t lengths[] = {kMaxLenFieldBytes + 1, uint64_t{1} << 35};
  for (uint64_t length : lengths) {
    const size_t n = PutLenFieldHead(2, length, head);
    std::string_view piece[] = {std::string_view(head, n)};
    PieceCursor cursor(piece);
    EXPECT_FALSE(cursor.ReadLenFieldHead().has_value()) << length;
  }
  // Just under the limit is a field (whose payload is not here).
  const size_t n = PutLenFieldHead(2, kMaxLenFieldBytes, head);
  std::string_view piece[] = {std::string_view(head, n)};
  PieceCursor cursor(piece);
  EXPECT_TRUE(cursor.ReadLenFieldHead().has_value());
}

TEST(ProtoWireTest, SoleLenFieldPayloadLeavesEveryOtherLayoutToProtobuf) {
  const std::string data = EncodeLenField(2, "hello");
  struct Case {
    const char* name;
    std::string wire;
  } cases[] = {
      {"another field number", EncodeLenField(3, "hello")},
      {"an empty message", ""},
      {"two fields", data + EncodeLenField(2, "world")},
      {"a length past the end", data.substr(0, data.size() - 1)},
      {"a length short of the end", data + "x"},
      {"a length varint cut short", std::string("\x12\x80", 2)},
      {"the field as a varint", std::string("\x10\x05", 2)},
      {"field number zero", std::string("\x02\x00", 2)},
  };
  for (const Case& c : cases) {
    std::vector<std::string_view> pieces = Split(c.wire, {});
    EXPECT_FALSE(SoleLenFieldPayload(pieces, c.wire.size(), 2).has_value()) << c.name;
  }
}

TEST(ProtoWireTest, NoPiecesIsNotAMessage) {
  EXPECT_FALSE(SoleLenFieldPayload({}, 0, 2).has_value());
}

TEST(ProtoWireTest, CopiesARangeThatSpansPieces) {
  std::vector<std::string_view> pieces = Split("abcdefghij", {2, 5, 9});
  std::string out(6, '.');
  CopyFromPieces(pieces, 1, 6, out.data());
  EXPECT_EQ(out, "bcdefg");
}

}  // namespace
}  // namespace nexus::proto_wire
