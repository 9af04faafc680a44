// Request bodies through the server: limits while reading, 100-continue,
// streaming routes (length-delimited and chunked), multipart parts however
// the bytes arrive, and the body timeout (server_rig.h has the routes).
#include <gtest/gtest.h>

#include <string>

#include "unit/gateway/http/server_rig.h"

namespace nexus::gateway {
namespace {

using namespace server_rig;

std::string Form(const std::string& file) {
  return "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         file + "\r\n--XyZ--\r\n";
}

// What ListParts answers for Form(file).

std::string PartsOf(const std::string& file) {
  return "{\"parts\":\"note:2:" + std::to_string(Fnv1a("hi")) +
         ";file:" + std::to_string(file.size()) + ":" + std::to_string(Fnv1a(file)) + ";\"}";
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIsPayloadTooLargeAndClosesTheConnection) {
  Start();
  Client c(port_);
  std::string chunk(150, 'x');
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n96\r\n" + chunk +
         "\r\n0\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r;
  EXPECT_EQ(Body(r), "{\"error\":\"request body too large (limit 100 bytes)\"}");
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(ServerTest, DeclaredBodyOverTheLimitIsRefusedBeforeItIsSent) {
  Start();
  Client c(port_);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r;
}

TEST_F(ServerTest, SendsContinueWhenTheClientAsksBeforeItsBody) {
  Start();
  Client c(port_);
  c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  std::string interim = c.ReadResponse();
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  c.Send("abcd");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":4}");
}

TEST_F(ServerTest, StreamingRouteReadsALengthDelimitedBodyPieceByPiece) {
  Start();
  Client c(port_);
  std::string body(20, 'b');
  for (int i = 0; i < 2; ++i) {  // and the connection stays usable
    c.Send("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + body);
    EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":20,\"reads\":3}");
  }
}

TEST_F(ServerTest, StreamingRouteReadsAChunkedBodyBeyondTheJsonLimit) {
  Start();
  Client c(port_);
  std::string chunk(150, 'c');
  c.Send("POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n96\r\n" + chunk +
         "\r\n96\r\n" + chunk + "\r\n0\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(Body(r).substr(0, 11), "{\"len\":300,") << r;
}

TEST_F(ServerTest, StreamingRouteSendsContinueBeforeItsFirstRead) {
  Start();
  Client c(port_);
  c.Send("POST /count HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().rfind("HTTP/1.1 100 Continue\r\n", 0), 0u);
  c.Send("12345");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":5,\"reads\":1}");
}

TEST_F(ServerTest, AStreamingHandlerThatStopsEarlyClosesTheConnectionAfterItsAnswer) {
  Start();
  Client c(port_);
  c.Send("POST /some HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcdefghij");
  std::string r = c.ReadResponse();
  EXPECT_EQ(Body(r), "{\"got\":\"abc\"}");
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(ServerTest, ALengthDelimitedBodyGivesTheSamePartsInSmallSegmentsAndInOneBurst) {
  Start();
  // Bytes that look like the start of a delimiter ("\r\n--X") inside the file.
  std::string file = Pattern(300 * 1024, 5) + "\r\n--X" + Pattern(1000, 6);
  std::string form = Form(file);
  std::string head =
      "POST /parts HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
      "boundary=XyZ\r\nContent-Length: " +
      std::to_string(form.size()) + "\r\n\r\n";
  const std::string expected = PartsOf(file);
  {
    Client c(port_);
    // The whole request and a pipelined next one in one burst: the body's
    // reader must leave the next request for the session.
    c.Send(head + form + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(Body(c.ReadResponse()), expected);
    EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":2}");
  }
  {
    Client c(port_);
    c.SendInSegments(head + form, 97);
    EXPECT_EQ(Body(c.ReadResponse()), expected);
  }
  {
    Client c(port_);  // and with the head's packet carrying part of the body
    c.Send(head + form.substr(0, 1000));
    c.SendInSegments(form.substr(1000), 64 * 1024 + 3);
    EXPECT_EQ(Body(c.ReadResponse()), expected);
  }
}

TEST_F(ServerTest, AStalledLengthDelimitedBodyIsDisconnectedAfterTheBodyTimeout) {
  ServerOptions options;
  options.body_timeout = 200ms;
  Start(options);
  Client c(port_);
  c.Send("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByServer());
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 3s);
}

TEST_F(ServerTest, TheBodyTimeoutCountsOnlyTimeSpentWaitingForTheClient) {
  ServerOptions options;
  options.body_timeout = 200ms;
  Start(options);
  Client c(port_);
  // The handler stops reading for 400 ms after its first read: the body is
  // all there, so the connection is not idle. The body is sent only after
  // the server's 100 Continue, so that first read waits on the socket (not
  // on bytes buffered with the head) and the watch is already running when
  // the pause begins.
  c.Send(
      "POST /pause HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
      "10000\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().rfind("HTTP/1.1 100 Continue\r\n", 0), 0u);
  c.Send(std::string(10000, 'p'));
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":10000}");
}

}  // namespace
}  // namespace nexus::gateway
