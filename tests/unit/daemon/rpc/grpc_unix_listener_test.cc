#include "daemon/rpc/grpc_unix_listener.h"

#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "daemon/rpc/health.h"
#include "daemon/rpc/services.h"
#include "support/temp_dir.h"
#include "unit/daemon/test_database.h"

namespace nexus::daemon {
namespace {

int SendBufferOf(int fd) {
  int bytes = 0;
  socklen_t len = sizeof(bytes);
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, &len) != 0) return -1;
  return bytes;
}

int HostMaxSendBuffer() {
  std::ifstream in("/proc/sys/net/core/wmem_max");
  int v = 0;
  in >> v;
  return v;
}

// The send buffer SetSendBuffer must reach here: all of it where this
// process may pass the host's cap (SO_SNDBUFFORCE needs CAP_NET_ADMIN,
// which root in a container may lack), else as much as the cap allows.
int ExpectedSendBuffer() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return -1;
  int bytes = kConnectionSendBufferBytes;
  const bool can_force =
      ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) == 0;
  ::close(fds[0]);
  ::close(fds[1]);
  return can_force ? kConnectionSendBufferBytes
                   : std::min(kConnectionSendBufferBytes, HostMaxSendBuffer());
}

// The largest send buffer among this process's connected Unix sockets: the
// server side of a connection the listener accepted lives here too.
int LargestConnectedUnixSendBuffer() {
  int largest = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  while (dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    struct stat st {};
    if (fd <= 2 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int domain = 0, listening = 0;
    socklen_t len = sizeof(int);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) continue;
    len = sizeof(int);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    largest = std::max(largest, SendBufferOf(fd));
  }
  ::closedir(dir);
  return largest;
}

bool CanConnect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

TEST(SetSendBuffer, RaisesTheBufferAsFarAsTheHostAllows) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const int before = SendBufferOf(fds[0]);
  Result<int> granted = SetSendBuffer(fds[0], kConnectionSendBufferBytes);
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_GE(*granted, ExpectedSendBuffer()) << "before: " << before;
  // The kernel reports twice what it grants (its bookkeeping overhead).
  EXPECT_EQ(SendBufferOf(fds[0]), 2 * *granted);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(SetSendBuffer, FailsOnSomethingThatIsNotASocket) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_EQ(SetSendBuffer(pipe_fds[1], 1 << 20).status().code(), StatusCode::kUnavailable);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

class GrpcUnixListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = std::make_unique<testing::TestHealth>(dir_);
    ASSERT_TRUE(health_->get());
    services_ = std::make_unique<DaemonServices>(DomainObjects{.health = health_->get()});
    grpc::ServerBuilder builder;
    services_->RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  grpc::Status CallHealth(v1::Health::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HealthResponse resp;
    grpc::Status s = stub.Check(&ctx, v1::HealthRequest(), &resp);
    if (s.ok()) {
      EXPECT_EQ(resp.status(), "ok");
    }
    return s;
  }

  std::unique_ptr<v1::Health::Stub> Stub() {
    return v1::Health::NewStub(
        grpc::CreateChannel("unix:" + socket_path(), grpc::InsecureChannelCredentials()));
  }
  std::string socket_path() const { return dir_.File("d.sock"); }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestHealth> health_;
  std::unique_ptr<DaemonServices> services_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcUnixListenerTest, ServesCallsOnConnectionsWithALargeSendBuffer) {
  auto listener = GrpcUnixListener::Bind(socket_path(), 0660);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  const int before = LargestConnectedUnixSendBuffer();
  ASSERT_TRUE((*listener)->Start(server_.get()).ok());
  auto stub = Stub();
  grpc::Status s = CallHealth(*stub);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The accepted side is the only one with the listener's buffer (the
  // kernel reports twice what it grants).
  EXPECT_GE(LargestConnectedUnixSendBuffer(), 2 * ExpectedSendBuffer())
      << "largest before the connection: " << before;
}

TEST_F(GrpcUnixListenerTest, StopRefusesNewConnectionsAndKeepsTheServedOnes) {
  auto listener = GrpcUnixListener::Bind(socket_path(), 0660);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  ASSERT_TRUE((*listener)->Start(server_.get()).ok());
  auto stub = Stub();
  ASSERT_TRUE(CallHealth(*stub).ok());

  (*listener)->Stop();
  EXPECT_FALSE(CanConnect(socket_path()));
  // The connection handed over before Stop is the server's: still served.
  grpc::Status s = CallHealth(*stub);
  EXPECT_TRUE(s.ok()) << s.error_message();
  (*listener)->Stop();  // a second Stop is a no-op
}

TEST_F(GrpcUnixListenerTest, BindRefusesAPathInUse) {
  auto first = GrpcUnixListener::Bind(socket_path(), 0660);
  ASSERT_TRUE(first.ok());
  auto second = GrpcUnixListener::Bind(socket_path(), 0660);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  auto nowhere = GrpcUnixListener::Bind(dir_.File("no/such/dir/d.sock"), 0660);
  EXPECT_EQ(nowhere.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace nexus::daemon
