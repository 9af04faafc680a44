#include "gateway/s3/aws_chunked.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

// The example of AWS's "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks": 66560 bytes of 'a' in chunks of
// 65536 and 1024, signed at 2013-05-24T00:00:00Z.
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kSig1[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
constexpr char kSig2[] = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
constexpr char kSigEnd[] = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

ChunkSigning ExampleSigning(std::string seed = kSeed) {
  return ChunkSigning{
      SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
      "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", std::move(seed)};
}

AwsChunkedDecoder ExampleDecoder() { return AwsChunkedDecoder(ChunkedBody{ExampleSigning()}); }

std::string ExampleBody(const std::string& last_signature = kSigEnd) {
  return "10000;chunk-signature=" + std::string(kSig1) + "\r\n" + std::string(65536, 'a') +
         "\r\n400;chunk-signature=" + kSig2 + "\r\n" + std::string(1024, 'a') +
         "\r\n0;chunk-signature=" + last_signature + "\r\n\r\n";
}

TEST(AwsChunkedTest, DecodesAndVerifiesAwsExampleInPiecesOfAnySize) {
  const std::string body = ExampleBody();
  ASSERT_EQ(body.size(), 66824u);  // its Content-Length in the example
  for (size_t piece : {size_t(1), size_t(7), size_t(4096), body.size()}) {
    SCOPED_TRACE(piece);
    AwsChunkedDecoder d = ExampleDecoder();
    std::string out;
    for (size_t at = 0; at < body.size(); at += piece) {
      auto e = d.Feed(std::string_view(body).substr(at, piece), &out);
      ASSERT_FALSE(e) << e->message;
    }
    EXPECT_FALSE(d.Finish());
    EXPECT_EQ(out, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedTest, RefusesAChangedChunkOrSignature) {
  std::string body = ExampleBody();
  body[200] = 'b';
  AwsChunkedDecoder d = ExampleDecoder();
  std::string out;
  auto e = d.Feed(body, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");

  AwsChunkedDecoder last = ExampleDecoder();
  e = last.Feed(ExampleBody(std::string(64, '0')), &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_TRUE(last.Finish());
}

TEST(AwsChunkedTest, RefusesBrokenFraming) {
  for (std::string body : {std::string("zz;chunk-signature=00\r\n"), std::string("10000\r\n"),
                           std::string(300, '1')}) {
    AwsChunkedDecoder d = ExampleDecoder();
    std::string out;
    auto e = d.Feed(body, &out);
    ASSERT_TRUE(e) << body.substr(0, 30);
    EXPECT_EQ(e->code, "IncompleteBody");
  }
  AwsChunkedDecoder cut = ExampleDecoder();
  std::string out;
  EXPECT_FALSE(cut.Feed(ExampleBody().substr(0, 1000), &out));
  auto ended = cut.Finish();  // the caller refuses a body that ends here
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->code, "IncompleteBody");
}

// The trailer kinds, framed as the SDKs frame them. The signatures are
// computed here by the rules of AWS's "Signature calculations for trailing
// headers": the same chain as the chunks', then one over the trailer lines
// ("name:value\n", sorted), chained on the last chunk's signature.
std::string ChunkSignature(const ChunkSigning& s, const std::string& previous,
                           std::string_view data) {
  return HexOf(HmacSha256(s.signing_key, "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amz_date + "\n" +
                                             s.scope + "\n" + previous + "\n" + Sha256Hex("") +
                                             "\n" + Sha256Hex(data)));
}

std::string SignedTrailerBody(const ChunkSigning& s, const std::string& data,
                              const std::string& crc_line, bool good_trailer_signature = true) {
  const std::string sig1 = ChunkSignature(s, s.seed_signature, data);
  const std::string sig_end = ChunkSignature(s, sig1, "");
  std::string trailer_sig =
      HexOf(HmacSha256(s.signing_key, "AWS4-HMAC-SHA256-TRAILER\n" + s.amz_date + "\n" + s.scope +
                                          "\n" + sig_end + "\n" + Sha256Hex(crc_line + "\n")));
  if (!good_trailer_signature) trailer_sig[0] = trailer_sig[0] == '0' ? '1' : '0';
  char size[32];
  snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + ";chunk-signature=" + sig1 + "\r\n" + data + "\r\n" +
         "0;chunk-signature=" + sig_end + "\r\n" + crc_line + "\r\n" +
         "x-amz-trailer-signature:" + trailer_sig + "\r\n\r\n";
}

TEST(AwsChunkedTest, SignedTrailerIsVerifiedAndHandedOver) {
  const ChunkSigning s = ExampleSigning();
  const std::string body =
      SignedTrailerBody(s, std::string(1500, 'x'), "x-amz-checksum-crc32:AAAAAA==");
  for (size_t piece : {size_t(1), size_t(13), body.size()}) {
    SCOPED_TRACE(piece);
    AwsChunkedDecoder d(ChunkedBody{s, true});
    std::string out;
    for (size_t at = 0; at < body.size(); at += piece) {
      auto e = d.Feed(std::string_view(body).substr(at, piece), &out);
      ASSERT_FALSE(e) << e->message;
    }
    ASSERT_FALSE(d.Finish());
    EXPECT_EQ(out, std::string(1500, 'x'));
    ASSERT_EQ(d.trailers().size(), 1u);
    EXPECT_EQ(d.trailers()[0].first, "x-amz-checksum-crc32");
    EXPECT_EQ(d.trailers()[0].second, "AAAAAA==");
  }
}

TEST(AwsChunkedTest, SignedTrailerRefusesAChangedOrUnsignedTrailer) {
  const ChunkSigning s = ExampleSigning();
  std::string out;
  // Another checksum than the one signed.
  std::string changed = SignedTrailerBody(s, "abc", "x-amz-checksum-crc32:AAAAAA==");
  changed.replace(changed.find("AAAAAA=="), 8, "BBBBBB==");
  AwsChunkedDecoder a(ChunkedBody{s, true});
  auto e = a.Feed(changed, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");

  AwsChunkedDecoder b(ChunkedBody{s, true});
  e = b.Feed(SignedTrailerBody(s, "abc", "x-amz-checksum-crc32:AAAAAA==", false), &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");

  // The trailer's signature left out.
  std::string unsigned_end = SignedTrailerBody(s, "abc", "x-amz-checksum-crc32:AAAAAA==");
  unsigned_end.erase(unsigned_end.find("x-amz-trailer-signature"));
  unsigned_end += "\r\n";
  AwsChunkedDecoder c(ChunkedBody{s, true});
  e = c.Feed(unsigned_end, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
}

TEST(AwsChunkedTest, UnsignedTrailerAsTheJavaScriptSdkSendsIt) {
  const std::string body =
      "5\r\nhello\r\n7\r\n, world\r\n0\r\nx-amz-checksum-crc32: /6tyOg==\r\n\r\n";
  AwsChunkedDecoder d(ChunkedBody{std::nullopt, true});
  std::string out;
  ASSERT_FALSE(d.Feed(body, &out));
  ASSERT_FALSE(d.Finish());
  EXPECT_EQ(out, "hello, world");
  ASSERT_EQ(d.trailers().size(), 1u);
  EXPECT_EQ(d.trailers()[0].second, "/6tyOg==");

  // Without the empty line at the end: still whole.
  AwsChunkedDecoder no_end(ChunkedBody{std::nullopt, true});
  ASSERT_FALSE(no_end.Feed(body.substr(0, body.size() - 2), &out));
  EXPECT_FALSE(no_end.Finish());

  // Cut inside the data, or a signature line where none is expected.
  AwsChunkedDecoder cut(ChunkedBody{std::nullopt, true});
  ASSERT_FALSE(cut.Feed(body.substr(0, 10), &out));
  EXPECT_TRUE(cut.Finish());
  AwsChunkedDecoder forged(ChunkedBody{std::nullopt, true});
  auto e = forged.Feed("0\r\nx-amz-trailer-signature:00\r\n\r\n", &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "IncompleteBody");
  // A trailer that never ends.
  AwsChunkedDecoder endless(ChunkedBody{std::nullopt, true});
  e = endless.Feed("0\r\n" + std::string(5000, 'x'), &out);
  ASSERT_TRUE(e);
}

}  // namespace
}  // namespace nexus::gateway::s3
