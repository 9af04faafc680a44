// LambdaRunner against the real runc, what a snippet cannot do: reach the
// network or the host, read its secrets, write outside /tmp, learn the
// host's paths, open exotic sockets, become root, unshare or mount.
// Set-up and the leftover checks in lambda_runc_fixture.h.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "unit/daemon/lambda/lambda_runc_fixture.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

TEST_F(LambdaRuncTest, HasOnlyLoopbackAndCannotReachTheHost) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);

  auto r = Python(
      "import socket\n"
      "names = [l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]]\n"
      "print(names)\n"
      "try:\n"
      "    socket.create_connection(('127.0.0.1', " +
      std::to_string(port) +
      "), timeout=2)\n"
      "    print('connected')\n"
      "except ConnectionRefusedError:\n"
      "    print('refused')\n");
  ::close(s);
  EXPECT_EQ(r.stdout_data, "['lo']\nrefused\n") << r.stderr_data;
}

TEST_F(LambdaRuncTest, SeesNoHostSecretsAndCanWriteOnlyTmp) {
  auto r = Python(
      "import os\n"
      "print(os.getuid(), os.getgid(), os.getgroups())\n"
      "print(sorted(os.listdir('/etc')))\n"
      "try:\n"
      "    open('/etc/shadow')\n"
      "except FileNotFoundError:\n"
      "    print('no shadow')\n"
      "for path in ['/x', '/etc/x', '/usr/x', '/sandbox/x', '/proc/sys/kernel/hostname']:\n"
      "    try:\n"
      "        open(path, 'w').write('x')\n"
      "        print('wrote', path)\n"
      "    except OSError:\n"
      "        pass\n"
      "open('/tmp/x', 'w').write('x')\n"
      "print('tmp ok')\n");
  EXPECT_EQ(r.stdout_data,
            "65534 65534 []\n"
            "['group', 'hostname', 'hosts', 'ld.so.cache', 'nsswitch.conf', 'passwd', "
            "'resolv.conf']\n"
            "no shadow\n"
            "tmp ok\n")
      << r.stderr_data;
}

// What a sandbox can learn of the host's layout from its mounts: the
// rootfs, /etc and the init come from the runtime directory, so neither the
// data dir nor where nexusd is installed shows up.
TEST_F(LambdaRuncTest, ItsMountsNameNeitherTheDataDirNorTheInstallation) {
  const std::string install = fs::path(NEXUS_LAMBDA_INIT_PATH).parent_path().string();
  auto r = Python(
      "import sys\n"
      "for p in ('/proc/self/mountinfo', '/proc/self/mounts', '/proc/mounts',\n"
      "          '/proc/1/mountinfo', '/proc/self/cgroup'):\n"
      "    sys.stdout.write(open(p).read())\n");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_NE(r.stdout_data.find(" /sandbox/init "), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find(data_dir_), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data.find(install), std::string::npos) << r.stdout_data;
  EXPECT_NE(r.stdout_data.find(runtime_dir_ + "/lambda/"), std::string::npos)
      << "the bind mounts' sources are in the runtime directory: " << r.stdout_data;
}

// Only AF_UNIX, AF_INET and AF_INET6 sockets; the others answer as a kernel
// without them does.
TEST_F(LambdaRuncTest, OpensSocketsOfThreeFamiliesOnly) {
  auto r = Python(
      "import errno, socket\n"
      "for fam, typ in ((1, 1), (2, 1), (10, 2), (40, 1), (16, 3), (17, 3), (38, 5)):\n"
      "    try:\n"
      "        socket.socket(fam, typ).close()\n"
      "        print(fam, 'ok')\n"
      "    except OSError as e:\n"
      "        print(fam, errno.errorcode[e.errno])\n");
  EXPECT_EQ(r.stdout_data,
            "1 ok\n2 ok\n10 ok\n40 EAFNOSUPPORT\n16 EAFNOSUPPORT\n17 EAFNOSUPPORT\n"
            "38 EAFNOSUPPORT\n")
      << r.stderr_data;
}

TEST_F(LambdaRuncTest, CannotBecomeRootUnshareOrMount) {
  auto r = Python(
      "import ctypes, errno, os\n"
      "try:\n"
      "    os.setuid(0)\n"
      "    print('setuid worked')\n"
      "except PermissionError:\n"
      "    print('setuid denied')\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n"
      "os.mkdir('/tmp/m')\n"
      "print('mount', libc.mount(b'none', b'/tmp/m', b'tmpfs', 0, None), ctypes.get_errno())\n"
      "print('ptrace', libc.ptrace(16, 1, 0, 0), ctypes.get_errno())\n"
      "print('no-aslr', libc.personality(0x0040000), ctypes.get_errno())\n"
      "print('bpf', libc.syscall(321, 0, 0, 0), ctypes.get_errno())\n");
  EXPECT_EQ(r.stdout_data,
            "setuid denied\n"
            "unshare -1 1\n"
            "mount -1 1\n"
            "ptrace -1 1\n"
            "no-aslr -1 1\n"
            "bpf -1 1\n")
      << r.stderr_data;
}

}  // namespace
}  // namespace nexus::daemon::runtime
