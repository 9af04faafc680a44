// The server's connections: listening, keep-alive, pipelining, several
// threads, malformed and oversized heads, the header timeout and a graceful
// stop (server_rig.h has the routes and the client).
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "unit/gateway/http/server_rig.h"

namespace nexus::gateway {
namespace {

using namespace server_rig;

TEST_F(ServerTest, ListenReportsTheBoundPort) {
  Start();
  EXPECT_GT(port_, 0);
}

// A port the resolver would wrap (99999 listened on 34463) or read as a
// service name is a start-up error.

TEST_F(ServerTest, ListenRefusesAPortOutsideZeroTo65535) {
  const char* addresses[] = {"127.0.0.1:65536", "127.0.0.1:99999", "127.0.0.1:18446744073709551617",
                             "127.0.0.1:-1",    "127.0.0.1:+80",   "127.0.0.1:http",
                             "127.0.0.1:",      "127.0.0.1"};
  for (const char* address : addresses) {
    ServerOptions options;
    options.listen = address;
    options.threads = 1;
    options.handle_signals = false;
    Server server(pipeline_, options);
    auto bound = server.Listen();
    ASSERT_FALSE(bound.ok()) << address << " bound " << *bound;
    EXPECT_EQ(bound.status().code(), StatusCode::kInvalidArgument) << address;
    EXPECT_NE(bound.status().message().find("from 0 to 65535"), std::string::npos)
        << bound.status().message();
  }
}

TEST_F(ServerTest, ServesSeveralRequestsOnOneKeptAliveConnection) {
  Start();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    std::string r = c.ReadResponse();
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
    EXPECT_NE(r.find("X-Request-Id: "), std::string::npos);
    EXPECT_EQ(Body(r), "{\"len\":2}");
  }
}

TEST_F(ServerTest, ServesConnectionsSpreadOverSeveralThreads) {
  ServerOptions options;
  options.threads = 3;
  Start(options);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<Client>(port_));
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients)
      c->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    for (auto& c : clients) EXPECT_EQ(Body(c->ReadResponse()), "{\"len\":2}");
  }
  server_->Stop();
  runner_.join();
  EXPECT_TRUE(clean_stop_);
  for (auto& c : clients) EXPECT_TRUE(c->ClosedByServer());
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  Start();
  Client c(port_);
  c.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n123");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":1}");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"error\":\"not found\"}");
  EXPECT_EQ(Body(c.ReadResponse()), "{\"len\":3}");
}

TEST_F(ServerTest, MalformedRequestIsBadRequestAndClosed) {
  Start();
  Client c(port_);
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
  EXPECT_EQ(Body(r), "{\"error\":\"malformed HTTP request\"}");
  EXPECT_TRUE(c.ClosedByServer());
}

// Beast reads Content-Length itself; one that no uint64 holds, or that is
// not a number, is a malformed request, never a wrapped-around small length.

TEST_F(ServerTest, AContentLengthBeyondUint64OrNotANumberIsBadRequest) {
  Start();
  const char* lengths[] = {
      "18446744073709551616", "99999999999999999999999999", "-1", "1e3", "0x10", "2, 3"};
  for (const char* length : lengths) {
    Client c(port_);
    c.Send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ") + length +
           "\r\n\r\n{}");
    std::string r = c.ReadResponse();
    EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << length << ": " << r;
    EXPECT_EQ(Body(r), "{\"error\":\"malformed HTTP request\"}") << length;
  }
}

TEST_F(ServerTest, OversizedHeadIsRefused) {
  ServerOptions options;
  options.header_limit = 1024;
  Start(options);
  Client c(port_);
  c.Send("GET /nope HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r;
}

// Refused before routing, they are still requests answered: counted, under
// the fixed route "invalid", never under anything the client sent.
TEST_F(ServerTest, MalformedAndOversizedHeadsAreCountedAsInvalidRequests) {
  ServerOptions options;
  options.header_limit = 1024;
  Start(options);
  {
    Client c(port_);
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(c.ReadResponse().rfind("HTTP/1.1 400 ", 0), 0u);
    EXPECT_TRUE(c.ClosedByServer());  // after the request was counted
  }
  {
    Client c(port_);
    c.Send("GET /secret-path HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
    EXPECT_EQ(c.ReadResponse().rfind("HTTP/1.1 431 ", 0), 0u);
    EXPECT_TRUE(c.ClosedByServer());
  }
  const std::string text = registry_.Expose();
  EXPECT_NE(text.find("nexus_http_requests_total{method=\"other\",route=\"invalid\",code=\"4xx\"} "
                      "2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "nexus_http_request_duration_seconds_count{method=\"other\",route=\"invalid\"} 2\n"),
      std::string::npos);
  EXPECT_EQ(text.find("secret-path"), std::string::npos);
}

TEST_F(ServerTest, SilentClientIsDisconnectedAfterTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = 200ms;
  Start(options);
  Client c(port_);
  c.Send("GET /nope HTTP/1.1\r\nHost: x\r\n");  // never finishes its head
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(ServerTest, StopClosesIdleConnectionsAndFinishesRequestsInFlight) {
  Start();
  Client idle(port_);
  Client busy(port_);
  idle.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(idle.ReadResponse(), "");  // now idle on a kept-alive connection
  busy.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  slow_entered_.get_future().wait();

  server_->Stop();
  std::string r = busy.ReadResponse();
  EXPECT_EQ(Body(r), "{\"slow\":true}");
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(idle.ClosedByServer());
  runner_.join();
  EXPECT_TRUE(clean_stop_);

  Client late(port_);
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace nexus::gateway
