// Streamed responses through the server: chunked or of a declared length,
// too short or too long, large pieces, and a client that stops reading
// (server_rig.h has the routes).
#include <gtest/gtest.h>

#include <string>

#include "unit/gateway/http/server_rig.h"

namespace nexus::gateway {
namespace {

using namespace server_rig;

TEST_F(ServerTest, StreamedResponseWithoutLengthIsChunked) {
  Start();
  Client c(port_);
  c.Send("GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n");
  auto [head, body] = c.ReadChunkedResponse();
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Request-Id: "), std::string::npos);
  EXPECT_EQ(body, "hello streaming world");
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":2}");  // kept alive
}

TEST_F(ServerTest, StreamedResponseKeepsADeclaredLength) {
  Start();
  Client c(port_);
  c.Send("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_NE(r.find("Content-Length: 11"), std::string::npos) << r;
  EXPECT_EQ(Body(r), "hello world");
}

TEST_F(ServerTest, StreamedResponseShorterThanDeclaredClosesTheConnection) {
  Start();
  Client c(port_);
  c.Send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.ReadResponse(), "");  // never complete: the server closes instead
}

// A multipart form as curl -F sends it: a small field, then a file.

TEST_F(ServerTest, AStreamedResponseWithALengthArrivesWholeInLargePiecesAndKeepsTheConnection) {
  Start();
  Client c(port_);
  c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(Body(r), Pattern(3 << 20, 1) + Pattern(777, 2) + Pattern((1 << 20) + 5, 3));
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":2}");
}

TEST_F(ServerTest, AStreamedResponseLongerThanDeclaredIsCutAndClosesTheConnection) {
  Start();
  Client c(port_);
  c.Send("GET /long HTTP/1.1\r\nHost: x\r\n\r\n");
  // The piece would overrun the length: none of it is sent, and the client
  // never sees a complete-looking response.
  EXPECT_EQ(c.ReadResponse(), "");
}

TEST_F(ServerTest, AClientThatStopsReadingAStreamedResponseIsDroppedAfterTheWriteTimeout) {
  ServerOptions options;
  options.write_timeout = 200ms;
  Start(options);
  Client c(port_);
  c.Send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");  // and never reads
  std::future<Status> result = endless_result_.get_future();
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  Status s = result.get();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace nexus::gateway
