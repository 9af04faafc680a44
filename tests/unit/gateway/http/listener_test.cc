// The listen address parsing of the listener; accepting and shutdown are
// driven over real sockets in server_connection_test.cc.
#include "gateway/http/listener.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

TEST(SplitHostPortTest, SplitsHostAndPortAndUnwrapsIpv6) {
  struct Case {
    const char* listen;
    const char* host;
    const char* port;
  } cases[] = {
      {"127.0.0.1:8080", "127.0.0.1", "8080"},
      {"[::1]:0", "::1", "0"},
      {":443", "0.0.0.0", "443"},
      {"localhost:65535", "localhost", "65535"},
  };
  for (const auto& c : cases) {
    auto hp = SplitHostPort(c.listen);
    ASSERT_TRUE(hp.ok()) << c.listen;
    EXPECT_EQ(hp->first, c.host) << c.listen;
    EXPECT_EQ(hp->second, c.port) << c.listen;
  }
}

TEST(SplitHostPortTest, RefusesAMissingOrOutOfRangePort) {
  for (const char* listen : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "h:-1", "h:8x"}) {
    auto hp = SplitHostPort(listen);
    ASSERT_FALSE(hp.ok()) << listen;
    EXPECT_EQ(hp.status().code(), StatusCode::kInvalidArgument) << listen;
  }
}

}  // namespace
}  // namespace nexus::gateway
