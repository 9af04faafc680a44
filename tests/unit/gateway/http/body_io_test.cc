// The body reader and writer of a Content-Length body over a real loopback
// connection: what the session relies on to keep a pipelined next request
// and never send past a declared length. Chunked bodies, 100-continue and
// the watchdog are driven through the whole server in
// server_request_body_test.cc.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>

#include "gateway/http/body_reader.h"
#include "gateway/http/body_writer.h"

namespace nexus::gateway {
namespace {

class BodyIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    conn_ = std::make_shared<Connection>(acceptor.accept(), options_);
  }

  // Runs `work` on the connection's context until it completes.
  template <typename T>
  T Run(asio::awaitable<T> work) {
    std::optional<T> out;
    asio::co_spawn(
        ctx_, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(work)); },
        asio::detached);
    // Not run(): the connection's watch keeps a timer pending while a body
    // is being read or written.
    ctx_.restart();
    while (!out) ctx_.run_one();
    return std::move(*out);
  }

  void ClientSends(const std::string& bytes) { asio::write(client_, asio::buffer(bytes)); }

  std::string ClientReceives(std::size_t n) {
    std::string got(n, '\0');
    asio::read(client_, asio::buffer(got));
    return got;
  }

  asio::io_context ctx_;
  tcp::socket client_{ctx_};
  ServerOptions options_;
  std::shared_ptr<Connection> conn_;
};

TEST_F(BodyIoTest, ALengthBodyReaderHandsOutTheHeadsBytesFirstAndStopsAtTheEnd) {
  beast::flat_buffer buffer;  // what arrived with the head
  const std::string early = "hello";
  buffer.commit(asio::buffer_copy(buffer.prepare(early.size()), asio::buffer(early)));
  ClientSends(" world GET /next");
  LengthBodyReader reader(*conn_, buffer, 11, 11, /*send_continue=*/false, options_);
  std::string body;
  for (;;) {
    char chunk[64];
    Result<std::size_t> n = Run(reader.Read(std::span<char>(chunk, sizeof chunk)));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    body.append(chunk, *n);
  }
  EXPECT_EQ(body, "hello world");
  EXPECT_TRUE(reader.done());
  // The pipelined next request is still in the socket, for the session.
  std::string next(10, '\0');
  asio::read(conn_->stream.socket(), asio::buffer(next));
  EXPECT_EQ(next, " GET /next");
}

TEST_F(BodyIoTest, ALengthBodyReaderFailsWhenTheClientClosesEarly) {
  beast::flat_buffer buffer;
  ClientSends("abc");
  client_.shutdown(tcp::socket::shutdown_send);
  LengthBodyReader reader(*conn_, buffer, 10, 11, /*send_continue=*/false, options_);
  char chunk[64];
  Result<std::size_t> first = Run(reader.Read(std::span<char>(chunk, sizeof chunk)));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 3u);
  Result<std::size_t> second = Run(reader.Read(std::span<char>(chunk, sizeof chunk)));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(reader.done());
}

TEST_F(BodyIoTest, ARawBodyWriterNeverSendsPastItsContentLength) {
  RawBodyWriter writer(*conn_, 4, options_.write_timeout);
  Status too_much = Run(writer.Write("12345"));
  EXPECT_EQ(too_much.code(), StatusCode::kInternal);
  EXPECT_EQ(writer.bytes(), 0u);
  EXPECT_TRUE(Run(writer.Write("12")).ok());
  EXPECT_TRUE(Run(writer.Write("34")).ok());
  EXPECT_EQ(Run(writer.Write("5")).code(), StatusCode::kInternal);
  EXPECT_EQ(writer.bytes(), 4u);
  EXPECT_EQ(ClientReceives(4), "1234");
}

}  // namespace
}  // namespace nexus::gateway
