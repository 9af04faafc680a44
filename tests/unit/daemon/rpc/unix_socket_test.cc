#include "daemon/rpc/unix_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace nexus::daemon {
namespace {

// A socket bound at `path`; listening when asked. Closed (leaving the file,
// like a crashed process would) on destruction.
class BoundSocket {
 public:
  BoundSocket(const std::string& path, bool listening) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          (!listening || ::listen(fd_, 1) == 0);
  }
  ~BoundSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(UnixSocketPathTest, AcceptsUnixAddressesAndRejectsOthers) {
  struct Case {
    const char* address;
    bool ok;
    const char* path;
  };
  const Case cases[] = {
      {"unix:/run/nexus/nexusd.sock", true, "/run/nexus/nexusd.sock"},
      {"unix:///run/nexus/nexusd.sock", true, "/run/nexus/nexusd.sock"},
      {"unix:./var/run/nexusd.sock", true, "./var/run/nexusd.sock"},
      {"unix:", false, ""},
      {"127.0.0.1:7000", false, ""},
      {"/run/nexusd.sock", false, ""},
  };
  for (const Case& c : cases) {
    auto path = UnixSocketPath(c.address);
    ASSERT_EQ(path.ok(), c.ok) << c.address;
    if (c.ok) {
      EXPECT_EQ(*path, c.path) << c.address;
    }
  }
}

TEST(UnixSocketPathTest, RejectsPathsTooLongForSockaddr) {
  auto path = UnixSocketPath("unix:/" + std::string(200, 'a'));
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kInvalidArgument);
}

TEST(ClearStaleSocketTest, SucceedsWhenNothingIsThere) {
  testing::TempDir dir;
  EXPECT_TRUE(ClearStaleSocket(dir.File("nexusd.sock")).ok());
}

TEST(ClearStaleSocketTest, RemovesASocketNobodyListensOn) {
  testing::TempDir dir;
  std::string path = dir.File("nexusd.sock");
  {
    BoundSocket crashed(path, /*listening=*/false);
    ASSERT_TRUE(crashed.ok());
  }
  ASSERT_TRUE(Exists(path));
  Status s = ClearStaleSocket(path);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(Exists(path));
}

TEST(ClearStaleSocketTest, RefusesToTakeASocketFromALiveServer) {
  testing::TempDir dir;
  std::string path = dir.File("nexusd.sock");
  BoundSocket live(path, /*listening=*/true);
  ASSERT_TRUE(live.ok());
  Status s = ClearStaleSocket(path);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_TRUE(Exists(path));
}

TEST(ClearStaleSocketTest, NeverDeletesSomethingThatIsNotASocket) {
  testing::TempDir dir;
  std::string path = dir.File("nexusd.sock");
  std::ofstream(path) << "precious";
  Status s = ClearStaleSocket(path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Exists(path));
}

}  // namespace
}  // namespace nexus::daemon
