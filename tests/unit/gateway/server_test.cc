// The Beast session over a real loopback socket (port 0): keep-alive,
// pipelining, body limits while reading, 100-continue, malformed and
// oversized heads, idle timeouts and graceful stop. The client side is plain
// POSIX sockets so this test needs no Beast.
#include "gateway/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using namespace std::chrono_literals;

// Echoes the request body, so tests can see what the session buffered.
asio::awaitable<Result<Response>> Echo(Request& req) {
  co_return JsonResponse(200, "{\"len\":" + std::to_string(req.body.size()) + "}");
}

// Signals `entered`, then takes 200 ms: a request in flight during Stop().
asio::awaitable<Result<Response>> Slow(std::promise<void>* entered) {
  entered->set_value();
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, 200ms);
  co_await timer.async_wait(asio::use_awaitable);
  co_return JsonResponse(200, "{\"slow\":true}");
}

class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }

  void Send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  // Reads one response (head + Content-Length body); "" on EOF or timeout.
  std::string ReadResponse() {
    for (;;) {
      std::size_t head_end = buffered_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        std::string head = buffered_.substr(0, head_end);
        std::size_t cl = head.find("Content-Length: ");
        if (cl != std::string::npos) length = std::stoul(head.substr(cl + 16));
        std::size_t total = head_end + 4 + length;
        if (buffered_.size() >= total) {
          std::string out = buffered_.substr(0, total);
          buffered_.erase(0, total);
          return out;
        }
      }
      if (!Fill()) return "";
    }
  }

  // True when the server closed the connection (EOF) before a timeout.
  bool ClosedByServer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffered_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffered_;
};

std::string Body(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", {BodyMode::kJson, false}, [](Request& r) { return Echo(r); });
    router_.Add("GET", "/slow", {}, [this](Request&) { return Slow(&slow_entered_); });
  }

  void Start(ServerOptions options = ServerOptions()) {
    options.listen = "127.0.0.1:0";
    if (options.threads == 0) options.threads = 1;
    options.handle_signals = false;
    server_ = std::make_unique<Server>(pipeline_, options);
    auto bound = server_->Listen();
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    port_ = std::stoi(bound->substr(bound->rfind(':') + 1));
    runner_ = std::thread([this] { clean_stop_ = server_->Run(); });
  }

  void TearDown() override {
    if (runner_.joinable()) {
      server_->Stop();
      runner_.join();
    }
  }

  testing::FakeAuthClient auth_;
  Router router_;
  Pipeline pipeline_{router_, auth_, PipelineOptions{100}};
  std::promise<void> slow_entered_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::atomic<bool> clean_stop_{false};
  int port_ = 0;
};

TEST_F(ServerTest, ListenReportsTheBoundPort) {
  Start();
  EXPECT_GT(port_, 0);
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

TEST_F(ServerTest, MalformedRequestIsBadRequestAndClosed) {
  Start();
  Client c(port_);
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  std::string r = c.ReadResponse();
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
  EXPECT_EQ(Body(r), "{\"error\":\"malformed HTTP request\"}");
  EXPECT_TRUE(c.ClosedByServer());
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
