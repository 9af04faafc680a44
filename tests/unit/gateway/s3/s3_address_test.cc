#include "gateway/s3/s3_address.h"

#include <gtest/gtest.h>

namespace nexus::gateway::s3 {
namespace {

void Expect(const S3Address& a, const std::string& bucket, const std::string& key) {
  EXPECT_EQ(a.bucket, bucket);
  EXPECT_EQ(a.key, key);
}

TEST(S3AddressTest, PathStyle) {
  Expect(AddressOf("127.0.0.1:9000", "/", ""), "", "");
  Expect(AddressOf("127.0.0.1:9000", "/photos", ""), "photos", "");
  Expect(AddressOf("127.0.0.1:9000", "/photos/", ""), "photos", "");
  Expect(AddressOf("127.0.0.1:9000", "/photos/2024/a%20b.jpg", ""), "photos", "2024/a b.jpg");
  // With a domain set, the domain itself and other hosts stay path-style.
  Expect(AddressOf("s3.example.com:9000", "/photos/k", "s3.example.com"), "photos", "k");
  Expect(AddressOf("127.0.0.1:9000", "/photos/k", "s3.example.com"), "photos", "k");
  Expect(AddressOf("evil-s3.example.com", "/photos/k", "s3.example.com"), "photos", "k");
}

TEST(S3AddressTest, VirtualHostStyle) {
  Expect(AddressOf("photos.s3.example.com:9000", "/2024/a%2Fb.jpg", "s3.example.com"), "photos",
         "2024/a/b.jpg");
  Expect(AddressOf("Photos.S3.Example.COM.", "/", "s3.example.com"), "photos", "");
  Expect(AddressOf("my.dotted.bucket.s3.example.com", "/k", "S3.example.com"), "my.dotted.bucket",
         "k");
  // Off without a domain.
  Expect(AddressOf("photos.s3.example.com", "/k", ""), "k", "");
}

}  // namespace
}  // namespace nexus::gateway::s3
