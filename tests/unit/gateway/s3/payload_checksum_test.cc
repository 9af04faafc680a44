#include "gateway/s3/payload_checksum.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus::gateway::s3 {
namespace {

// The check values of each algorithm's catalogue entry: the digest of the
// nine ASCII digits "123456789" (CRC-32 cbf43926, CRC-32C e3069283,
// CRC-64/NVME ae8b14860a799888), as base64 of the big-endian bytes.
struct Case {
  ChecksumAlgorithm algorithm;
  const char* name;
  const char* check;
};

constexpr Case kCases[] = {
    {ChecksumAlgorithm::kCrc32, "x-amz-checksum-crc32", "y/Q5Jg=="},
    {ChecksumAlgorithm::kCrc32c, "x-amz-checksum-crc32c", "4waSgw=="},
    {ChecksumAlgorithm::kCrc64Nvme, "x-amz-checksum-crc64nvme", "rosUhgp5mIg="},
    {ChecksumAlgorithm::kSha1, "x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE="},
    {ChecksumAlgorithm::kSha256, "x-amz-checksum-sha256",
     "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
};

TEST(PayloadChecksumTest, CheckValuesInOnePieceAndInMany) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    PayloadChecksum whole(c.algorithm);
    whole.Update("123456789");
    EXPECT_EQ(whole.FinishBase64(), c.check);
    PayloadChecksum pieces(c.algorithm);
    for (char d : std::string("123456789")) pieces.Update(std::string_view(&d, 1));
    EXPECT_EQ(pieces.FinishBase64(), c.check);
  }
}

TEST(PayloadChecksumTest, LongInputCrossesTheWordLoop) {
  // 1 MiB + 3: the hardware CRC-32C path runs 8 bytes at a time, then bytes.
  const std::string data((1 << 20) + 3, 'z');
  PayloadChecksum a(ChecksumAlgorithm::kCrc32c);
  a.Update(data);
  PayloadChecksum b(ChecksumAlgorithm::kCrc32c);
  b.Update(std::string_view(data).substr(0, 5));
  b.Update(std::string_view(data).substr(5));
  EXPECT_EQ(a.FinishBase64(), b.FinishBase64());
}

TEST(PayloadChecksumTest, NamesAndComparison) {
  for (const Case& c : kCases) {
    EXPECT_EQ(ChecksumHeaderName(c.algorithm), c.name);
    EXPECT_EQ(ChecksumAlgorithmOfHeader(c.name), c.algorithm);
  }
  EXPECT_EQ(ChecksumAlgorithmOfHeader("X-Amz-Checksum-CRC32"), ChecksumAlgorithm::kCrc32);
  EXPECT_FALSE(ChecksumAlgorithmOfHeader("x-amz-checksum-md5"));
  EXPECT_FALSE(ChecksumAlgorithmOfHeader("x-amz-checksum-algorithm"));
  EXPECT_TRUE(SameChecksum("y/Q5Jg==", "y/Q5Jg=="));
  EXPECT_FALSE(SameChecksum("y/Q5Jh==", "y/Q5Jg=="));
  EXPECT_FALSE(SameChecksum("not base64!", "y/Q5Jg=="));
  EXPECT_FALSE(SameChecksum("", ""));
}

}  // namespace
}  // namespace nexus::gateway::s3
