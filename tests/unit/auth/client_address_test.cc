#include "auth/client_address.h"

#include <gtest/gtest.h>

namespace nexus::auth {
namespace {

TEST(ClientBucketTest, CountsIPv4PerAddressAndIPv6PerSlash64) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"203.0.113.7", "203.0.113.7"},
      {"127.0.0.66", "127.0.0.66"},
      {"::ffff:203.0.113.7", "203.0.113.7"},
      {"::FFFF:cb00:7107", "203.0.113.7"},
      {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
      {"2001:0db8:0001:0002::1", "2001:db8:1:2::/64"},
      {"2001:db8:1:2::1%eth0", "2001:db8:1:2::/64"},
      {"fe80::1%lo", "fe80::/64"},
      {"::1", "::/64"},
      {"2001:db8:1:3::1", "2001:db8:1:3::/64"},
      {"", ""},
      {"unix:/run/x.sock", "unix:/run/x.sock"},
      {"not an address", "not an address"},
  };
  for (const auto& c : cases) EXPECT_EQ(ClientBucket(c.in), c.want) << c.in;
}

}  // namespace
}  // namespace nexus::auth
