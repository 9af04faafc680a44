// The Beast session over a real loopback socket (port 0): keep-alive,
// pipelining, body limits while reading, 100-continue, malformed and
// oversized heads, idle timeouts and graceful stop. The client side is plain
// POSIX sockets so these tests need no Beast.
//
// The shared rig of the server_*_test.cc files of this folder: the routes'
// handlers, a socket client, and the ServerTest fixture that serves them.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "gateway/formats/multipart.h"
#include "gateway/http/server.h"
#include "gateway/metrics/http_metrics.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway::server_rig {

using namespace std::chrono_literals;

// Echoes the request body, so tests can see what the session buffered.
inline asio::awaitable<Result<Response>> Echo(Request& req) {
  co_return JsonResponse(200, "{\"len\":" + std::to_string(req.body.size()) + "}");
}

// Signals `entered`, then takes 200 ms: a request in flight during Stop().
inline asio::awaitable<Result<Response>> Slow(std::promise<void>* entered) {
  entered->set_value();
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, 200ms);
  co_await timer.async_wait(asio::use_awaitable);
  co_return JsonResponse(200, "{\"slow\":true}");
}

// Reads the whole streamed request body 7 bytes at a time.
inline asio::awaitable<Result<Response>> CountBody(Request& req) {
  if (!req.body_reader) co_return InternalError("no body reader");
  char buf[7];
  std::size_t total = 0;
  int reads = 0;
  for (;;) {
    auto n = co_await req.body_reader->Read(std::span<char>(buf, sizeof buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    total += *n;
    ++reads;
  }
  co_return JsonResponse(
      200, "{\"len\":" + std::to_string(total) + ",\"reads\":" + std::to_string(reads) + "}");
}

// Reads 3 bytes of a streamed body and answers, leaving the rest unread.
inline asio::awaitable<Result<Response>> ReadSome(Request& req) {
  char buf[3];
  auto n = co_await req.body_reader->Read(std::span<char>(buf, sizeof buf));
  if (!n.ok()) co_return n.status();
  co_return JsonResponse(200, "{\"got\":\"" + std::string(buf, *n) + "\"}");
}

inline asio::awaitable<Status> WritePieces(std::vector<std::string> pieces, BodyWriter& out) {
  for (const auto& p : pieces) {
    Status s = co_await out.Write(p);
    if (!s.ok()) co_return s;
  }
  co_return Status::Ok();
}

// A response streamed in `pieces`; with `content_length` >= 0 it is declared.
inline Response Streamed(std::vector<std::string> pieces, int content_length) {
  Response r;
  r.headers.Add("Content-Type", "text/plain");
  if (content_length >= 0) r.headers.Add("Content-Length", std::to_string(content_length));
  r.stream = [pieces](BodyWriter& out) { return WritePieces(pieces, out); };
  return r;
}

inline asio::awaitable<Result<Response>> StreamAnswer(std::vector<std::string> pieces,
                                                      int content_length) {
  co_return Streamed(std::move(pieces), content_length);
}

// FNV-1a of `data`, continuing from `hash` (a part's bytes arrive in pieces).
inline constexpr uint64_t kFnv1aBasis = 14695981039346656037ull;
inline uint64_t Fnv1a(std::string_view data, uint64_t hash = kFnv1aBasis) {
  for (unsigned char ch : data) hash = (hash ^ ch) * 1099511628211ull;
  return hash;
}

// Parses a streamed multipart body read `read_bytes` at a time and answers
// each part as "name:size:fnv1a64;" — what the upload handler would see.
inline asio::awaitable<Result<Response>> ListParts(Request& req, std::size_t read_bytes) {
  Result<MultipartParser> created = MultipartParser::Create(req.headers.Get("Content-Type"));
  if (!created.ok()) co_return created.status();
  MultipartParser parser = std::move(created).value();
  std::vector<char> buf(read_bytes);
  std::string out;
  std::size_t size = 0;
  uint64_t hash = 0;
  for (;;) {
    Result<MultipartEvent> ev = parser.Next();
    if (!ev.ok()) co_return ev.status();
    switch (ev->type) {
      case MultipartEventType::kNeedMore: {
        auto n = co_await req.body_reader->Read(std::span<char>(buf));
        if (!n.ok()) co_return n.status();
        if (*n == 0) {
          parser.FinishInput();
        } else {
          parser.Feed(std::string_view(buf.data(), *n));
        }
        break;
      }
      case MultipartEventType::kPartBegin:
        size = 0;
        hash = kFnv1aBasis;
        break;
      case MultipartEventType::kPartData:
        size += ev->data.size();
        hash = Fnv1a(ev->data, hash);
        break;
      case MultipartEventType::kPartEnd:
        out += ev->part->name + ":" + std::to_string(size) + ":" + std::to_string(hash) + ";";
        break;
      case MultipartEventType::kDone:
        co_return JsonResponse(200, "{\"parts\":\"" + out + "\"}");
    }
  }
}

// Reads the streamed body once, waits `pause` (not reading), then reads the rest.
inline asio::awaitable<Result<Response>> ReadWithPause(Request& req,
                                                       std::chrono::milliseconds pause) {
  char buf[4096];
  std::size_t total = 0;
  for (bool paused = false;; paused = true) {
    auto n = co_await req.body_reader->Read(std::span<char>(buf, sizeof buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    total += *n;
    if (!paused) {
      asio::steady_timer timer(co_await asio::this_coro::executor, pause);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
  co_return JsonResponse(200, "{\"len\":" + std::to_string(total) + "}");
}

// `repeat` writes of `piece`, the body's Status reported to `result`.
inline asio::awaitable<Status> WriteRepeated(std::string piece, int repeat,
                                             std::promise<Status>* result, BodyWriter& out) {
  for (int i = 0; i < repeat; ++i) {
    Status s = co_await out.Write(piece);
    if (!s.ok()) {
      result->set_value(s);
      co_return s;
    }
  }
  result->set_value(Status::Ok());
  co_return Status::Ok();
}

// Bytes that differ from their neighbours and repeat only every 251.
inline std::string Pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + seed) % 251);
  return out;
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

  // Sends `data` in `segment`-byte writes with Nagle off, so the server sees
  // the bytes arrive in many small reads.
  void SendInSegments(const std::string& data, std::size_t segment) {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (std::size_t off = 0; off < data.size(); off += segment) {
      Send(data.substr(off, segment));
    }
  }

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

  // Reads one chunked response and returns its head and decoded body.
  std::pair<std::string, std::string> ReadChunkedResponse() {
    while (buffered_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return {};
    }
    std::size_t head_end = buffered_.find("\r\n\r\n") + 4;
    std::string head = buffered_.substr(0, head_end);
    std::string body;
    std::size_t pos = head_end;
    for (;;) {
      std::size_t line_end;
      while ((line_end = buffered_.find("\r\n", pos)) == std::string::npos) {
        if (!Fill()) return {};
      }
      std::size_t size = std::stoul(buffered_.substr(pos, line_end - pos), nullptr, 16);
      while (buffered_.size() < line_end + 2 + size + 2) {
        if (!Fill()) return {};
      }
      body += buffered_.substr(line_end + 2, size);
      pos = line_end + 2 + size + 2;
      if (size == 0) break;
    }
    buffered_.erase(0, pos);
    return {head, body};
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

inline std::string Body(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", {BodyMode::kJson, false}, [](Request& r) { return Echo(r); });
    router_.Add("GET", "/slow", {}, [this](Request&) { return Slow(&slow_entered_); });
    router_.Add("POST", "/count", {BodyMode::kStream, false},
                [](Request& r) { return CountBody(r); });
    router_.Add("POST", "/some", {BodyMode::kStream, false},
                [](Request& r) { return ReadSome(r); });
    router_.Add("GET", "/chunks", {}, [](Request&) {
      return StreamAnswer({"hello ", "streaming ", "world"}, -1);
    });
    router_.Add("GET", "/sized", {}, [](Request&) {
      return StreamAnswer({"hello", " world"}, 11);
    });
    router_.Add("GET", "/short", {}, [](Request&) { return StreamAnswer({"hello"}, 100); });
    router_.Add("GET", "/long", {}, [](Request&) { return StreamAnswer({"hello world"}, 5); });
    router_.Add("POST", "/parts", {BodyMode::kStream, false},
                [](Request& r) { return ListParts(r, 1 << 20); });
    router_.Add("POST", "/pause", {BodyMode::kStream, false},
                [](Request& r) { return ReadWithPause(r, 400ms); });
    router_.Add("GET", "/big", {}, [](Request&) {
      // Pieces larger than a socket buffer, and odd sizes.
      return StreamAnswer({Pattern(3 << 20, 1), Pattern(777, 2), Pattern((1 << 20) + 5, 3)},
                          (3 << 20) + 777 + (1 << 20) + 5);
    });
    router_.Add("GET", "/endless", {}, [this](Request&) -> asio::awaitable<Result<Response>> {
      Response r;
      r.headers.Add("Content-Length", std::to_string(int64_t{256} << 20));
      std::promise<Status>* result = &endless_result_;
      r.stream = [result](BodyWriter& out) {
        return WriteRepeated(std::string(1 << 20, 'e'), 256, result, out);
      };
      co_return r;
    });
  }

  // Serves the routes added so far (tests may add their own first).
  void Start(ServerOptions options = ServerOptions()) {
    http_metrics_.AddRoutes(router_);
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
  metrics::Registry registry_;
  HttpMetrics http_metrics_{registry_};
  Pipeline pipeline_{router_, auth_, PipelineOptions{100, &http_metrics_}};
  std::promise<void> slow_entered_;
  std::promise<Status> endless_result_;
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::atomic<bool> clean_stop_{false};
  int port_ = 0;
};

}  // namespace nexus::gateway::server_rig
