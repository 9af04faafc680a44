// DownloadDataPayload against messages protobuf itself serialized, split into
// pieces at every position (as gRPC's slices may split them), and against
// layouts the shortcut must leave to protobuf.
#include "gateway/backends/download_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/proto_wire.h"
#include "nexus/daemon/v1/common.pb.h"

namespace nexus::gateway {
namespace {

namespace daemonpb = ::nexus::daemon::v1;

std::string DataMessage(const std::string& payload) {
  daemonpb::DownloadResponse m;
  m.set_data(payload);
  return m.SerializeAsString();
}

std::string HeaderMessage() {
  daemonpb::DownloadResponse m;
  m.mutable_header()->set_length(5);
  m.mutable_header()->mutable_file()->set_name("a.bin");
  return m.SerializeAsString();
}

// `wire` split at `cuts` (increasing offsets).
std::vector<std::string_view> Split(const std::string& wire, std::vector<size_t> cuts) {
  std::vector<std::string_view> pieces;
  size_t from = 0;
  for (size_t cut : cuts) {
    pieces.push_back(std::string_view(wire).substr(from, cut - from));
    from = cut;
  }
  pieces.push_back(std::string_view(wire).substr(from));
  return pieces;
}

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

TEST(DownloadFrameTest, FindsThePayloadOfDataMessagesOfEverySizeClass) {
  // Length varints of one, two, three and four bytes, and an empty payload.
  const size_t sizes[] = {0, 1, 127, 128, 16383, 16384, (1 << 20), (1 << 21) + 3};
  for (size_t n : sizes) {
    const std::string payload = Payload(n);
    const std::string wire = DataMessage(payload);
    std::vector<std::string_view> pieces = Split(wire, {});
    auto found = DownloadDataPayload(pieces, wire.size());
    ASSERT_TRUE(found.has_value()) << n;
    EXPECT_EQ(found->length, n);
    EXPECT_EQ(found->offset + found->length, wire.size());
    std::string copy(n, 'x');
    proto_wire::CopyFromPieces(pieces, found->offset, found->length, copy.data());
    EXPECT_EQ(copy, payload) << n;
  }
}

TEST(DownloadFrameTest, PiecesMayBeSplitAnywhereEvenInsideTheLengthVarint) {
  const std::string payload = Payload(300000);  // a three-byte length varint
  const std::string wire = DataMessage(payload);
  for (size_t a = 0; a <= 6; ++a) {
    for (size_t b = a; b <= 8; ++b) {
      std::vector<std::string_view> pieces = Split(wire, {a, b, b + 1000});
      auto found = DownloadDataPayload(pieces, wire.size());
      ASSERT_TRUE(found.has_value()) << a << "," << b;
      ASSERT_EQ(found->length, payload.size());
      std::string copy(payload.size(), 'x');
      proto_wire::CopyFromPieces(pieces, found->offset, found->length, copy.data());
      ASSERT_EQ(copy, payload) << a << "," << b;
    }
  }
}

TEST(DownloadFrameTest, LeavesEveryOtherLayoutToProtobuf) {
  const std::string data = DataMessage("hello");
  struct Case {
    const char* name;
    std::string wire;
  } cases[] = {
      {"the header message", HeaderMessage()},
      {"an empty message", ""},
      {"a data field followed by another field", data + HeaderMessage()},
      {"two data fields (protobuf keeps the last)", data + DataMessage("world")},
      {"a length past the end", data.substr(0, data.size() - 1)},
      {"a length varint cut short", std::string("\x12\x80", 2)},
      {"a length varint of six bytes", std::string("\x12\x80\x80\x80\x80\x80\x01", 7)},
      {"data as the wrong wire type", std::string("\x10\x05", 2)},
  };
  for (const Case& c : cases) {
    std::vector<std::string_view> pieces = Split(c.wire, {});
    EXPECT_FALSE(DownloadDataPayload(pieces, c.wire.size()).has_value()) << c.name;
  }
}

TEST(DownloadFrameTest, NoPiecesIsNotAMessage) {
  EXPECT_FALSE(DownloadDataPayload({}, 0).has_value());
}

}  // namespace
}  // namespace nexus::gateway
