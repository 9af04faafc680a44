// LambdaRunner against the real runc: real containers, real limits. Needs
// root and runc; skips with a reason otherwise, but fails when CI=true so
// that CI always runs it. Each test has its own data dir and instance name,
// and TearDown checks that nothing — container, bundle, cgroup — is left.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <vector>

#include "common/config.h"
#include "daemon/lambda/lambda.h"
#include "daemon/lambda/sandbox.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/oci_spec.h"
#include "daemon/runtime/process.h"
#include "daemon/runtime/seccomp_bpf.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string RandomInstance() {
  std::mt19937 rng{std::random_device{}()};
  const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = "t";
  for (int i = 0; i < 8; ++i) name += alphabet[rng() % 36];
  return name;
}

// Every directory under /sys/fs/cgroup (any hierarchy, any depth up to 3
// below its root) whose name contains `name`.
std::vector<std::string> CgroupDirsNamed(const std::string& name) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it("/sys/fs/cgroup", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (it->path().filename().string().find(name) != std::string::npos) {
      found.push_back(it->path().string());
      it.disable_recursion_pending();
    }
  }
  return found;
}

int64_t MillisSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

LambdaRequest Req(std::string code, std::string runtime, std::string stdin_data = "",
                  int64_t timeout_ms = 0, int64_t memory_mb = 0) {
  LambdaRequest r;
  r.code = std::move(code);
  r.runtime = std::move(runtime);
  r.stdin_data = std::move(stdin_data);
  r.timeout_ms = timeout_ms;
  r.memory_mb = memory_mb;
  r.owner = "tester";
  return r;
}

class LambdaRuncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (::geteuid() != 0) why = "not root";
    runc_ = FindExecutable("runc");
    if (why.empty() && runc_.empty()) why = "runc is not installed";
    if (!why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true") FAIL() << "lambda needs root and runc: " << why;
      GTEST_SKIP() << "lambda needs root and runc: " << why;
    }
    char tmpl[] = "/tmp/nexus-lambda-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    data_dir_ = tmpl;
    config_.data_dir = data_dir_;
    // Apart from the data dir, as /run/nexus-<instance> is in production.
    char run[] = "/tmp/nexus-lambda-run-XXXXXX";
    ASSERT_NE(::mkdtemp(run), nullptr);
    runtime_dir_ = run;
    config_.runtime_dir = runtime_dir_;
    config_.instance = RandomInstance();
    config_.lambda.pool_size = 0;
    config_.lambda.init_path = NEXUS_LAMBDA_INIT_PATH;
  }

  void TearDown() override {
    if (data_dir_.empty()) return;
    const bool had_runner = runner_ != nullptr;
    runner_.reset();  // stops the pool, removes the cgroup parent and its directory
    if (had_runner) EXPECT_FALSE(fs::exists(runtime_dir_)) << "the runtime directory was left";
    std::error_code ec;
    if (fs::is_directory(runtime_dir_ + "/lambda")) {
      EXPECT_TRUE(fs::is_empty(runtime_dir_ + "/lambda", ec)) << "bundle directories left behind";
    }
    const std::string root = runtime_dir_ + "/lambda/runc";
    auto processes = NewPosixProcessRunner();
    RuncRuntime runc({runc_, root, 10000, nullptr}, *processes);
    auto list = runc.List();
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> left;
    for (const auto& c : *list) {
      left.push_back(c.id);
      (void)runc.Destroy(c.id);
    }
    EXPECT_TRUE(left.empty()) << "containers left in the runc root: " << left.size();
    auto cgroups = MakeCgroupFs(kCgroupAuto);
    ASSERT_TRUE(cgroups.ok());
    const std::string parent = "/nexus-" + config_.instance + "-lambda";
    EXPECT_FALSE((*cgroups)->Exists(parent)) << "cgroup " << parent << " left behind";
    (void)(*cgroups)->RemoveTree(parent);
    fs::remove_all(data_dir_, ec);
    fs::remove_all(runtime_dir_, ec);
  }

  LambdaRunner& Runner() {
    if (!runner_) {
      auto r = LambdaRunner::ForHost(config_);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      runner_ = std::move(r).value();
    }
    return *runner_;
  }

  LambdaResult MustRun(LambdaRequest request) {
    auto result = Runner().Run(request);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : LambdaResult{};
  }

  LambdaResult Python(const std::string& code, const std::string& stdin_data = "",
                      int64_t timeout_ms = 0) {
    return MustRun(Req(code, "python3", stdin_data, timeout_ms, 0));
  }

  std::string runc_;
  std::string data_dir_;
  std::string runtime_dir_;
  Config config_;
  std::unique_ptr<LambdaRunner> runner_;
};

TEST_F(LambdaRuncTest, PrintsHelloWorld) {
  auto r = Python("print('hello from nexus')");
  EXPECT_EQ(r.stdout_data, "hello from nexus\n");
  EXPECT_EQ(r.stderr_data, "");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.signal, "");
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.oom_killed);
  EXPECT_GE(r.execution_time_ms, 0);
  EXPECT_LT(r.execution_time_ms, 5000);
}

TEST_F(LambdaRuncTest, ReportsStderrAndExitCode) {
  auto r = Python("import sys\nsys.stderr.write('oops\\n')\nsys.exit(3)");
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_EQ(r.stderr_data, "oops\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, "");
}

TEST_F(LambdaRuncTest, UncaughtExceptionShowsOnlyTheUsersFrames) {
  auto r = Python("def f():\n    raise ValueError('bad')\nf()\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_data.find("ValueError: bad"), std::string::npos) << r.stderr_data;
  EXPECT_NE(r.stderr_data.find("/sandbox/main.py\", line 3"), std::string::npos) << r.stderr_data;
  EXPECT_EQ(r.stderr_data.find("runpy"), std::string::npos) << r.stderr_data;
  EXPECT_EQ(r.stderr_data.find("<string>"), std::string::npos) << "the boot code's frames";
}

TEST_F(LambdaRuncTest, ExitWith137IsNotASignal) {
  auto r = Python("import sys\nsys.exit(137)");
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_EQ(r.signal, "");
}

TEST_F(LambdaRuncTest, EchoesStdinUntouchedByTheCodeDelivery) {
  auto r = Python("import sys\nsys.stdout.write(sys.stdin.read().upper())", "abc\nxyz\n");
  EXPECT_EQ(r.stdout_data, "ABC\nXYZ\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(LambdaRuncTest, RunsShellSnippets) {
  auto r =
      MustRun(Req("echo hi; read x; echo \"got $x\"; echo err >&2; exit 4", "sh", "there\n", 0, 0));
  EXPECT_EQ(r.stdout_data, "hi\ngot there\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_EQ(r.exit_code, 4);
}

TEST_F(LambdaRuncTest, ASignalTheProgramSendsItselfKillsIt) {
  // As pid 1 of its namespace the program would ignore this; under the
  // supervisor it dies the normal way.
  auto r = Python("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\nprint('survived')");
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_EQ(r.exit_code, 128 + 15);
  EXPECT_EQ(r.signal, "SIGTERM");
}

TEST_F(LambdaRuncTest, EndlessLoopIsKilledAtTheTimeout) {
  auto start = Clock::now();
  auto r = Python("print('spinning', flush=True)\nwhile True:\n    pass", "", 1000);
  int64_t wall = MillisSince(start);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_EQ(r.signal, "SIGKILL");
  EXPECT_FALSE(r.oom_killed);
  EXPECT_EQ(r.stdout_data, "spinning\n");
  EXPECT_GE(r.execution_time_ms, 1000);
  EXPECT_LT(wall, 2000) << "the run must end within timeout + 1 s";
}

TEST_F(LambdaRuncTest, AllocatingAGigabyteIsKilledByTheOomKiller) {
  auto r = Python("x = bytearray(1 << 30)\nprint('allocated')");
  EXPECT_TRUE(r.oom_killed);
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_EQ(r.signal, "SIGKILL");
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_FALSE(r.timed_out);
}

TEST_F(LambdaRuncTest, ForkBombHitsThePidsLimit) {
  auto r = Python(
      "import os, time\n"
      "n = 0\n"
      "try:\n"
      "    while True:\n"
      "        if os.fork() == 0:\n"
      "            time.sleep(30)\n"
      "            os._exit(0)\n"
      "        n += 1\n"
      "except OSError as e:\n"
      "    print(n, e.errno)\n",
      "", 5000);
  EXPECT_FALSE(r.timed_out) << "the supervisor must not wait for the sleeping children";
  EXPECT_EQ(r.exit_code, 0);
  std::istringstream in(r.stdout_data);
  int forked = -1, err = -1;
  in >> forked >> err;
  EXPECT_GT(forked, 0);
  EXPECT_LT(forked, 64);
  EXPECT_EQ(err, EAGAIN);
}

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

// Everyday Python must work under the seccomp profile and the read-only,
// network-less root: threads, subprocesses, multiprocessing, loopback
// sockets, temp files, mmap, hashing, epoll, time and locale.
TEST_F(LambdaRuncTest, EverydayPythonWorksInsideTheSandbox) {
  auto r = Python(
      "import hashlib, json, mmap, multiprocessing, os, select, socket, subprocess\n"
      "import tempfile, threading, time, datetime, locale, random, sqlite3\n"
      "out = []\n"
      "t = threading.Thread(target=lambda: out.append('thread'))\n"
      "t.start(); t.join()\n"
      "out.append(subprocess.run(['sh', '-c', 'echo sub'], capture_output=True, "
      "text=True).stdout.strip())\n"
      "with multiprocessing.Pool(2) as pool:\n"
      "    out.append(sum(pool.map(abs, [-1, -2, -3])))\n"
      "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
      "cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()\n"
      "cli.sendall(b'ping'); out.append(conn.recv(4).decode())\n"
      "with tempfile.NamedTemporaryFile() as f:\n"
      "    f.write(b'x' * 4096); f.flush()\n"
      "    m = mmap.mmap(f.fileno(), 4096); out.append(len(m)); m.close()\n"
      "out.append(hashlib.sha256(b'abc').hexdigest()[:8])\n"
      "ep = select.epoll(); ep.close()\n"
      "db = sqlite3.connect(':memory:'); out.append(db.execute('select 6*7').fetchone()[0])\n"
      "out.append(time.monotonic() > 0 and datetime.datetime.now().year > 2000)\n"
      "out.append(os.cpu_count() > 0)\n"
      "print(json.dumps(out))\n",
      "", 20000);
  EXPECT_EQ(r.stdout_data,
            "[\"thread\", \"sub\", 6, \"ping\", 4096, \"ba7816bf\", 42, true, true]\n")
      << r.stderr_data;
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(LambdaRuncTest, OutputBeyondTheCapIsDroppedAndFlagged) {
  config_.lambda.output_limit_bytes = 1000;
  auto r = Python("import sys\nsys.stdout.write('x' * 100000)\nsys.stderr.write('e' * 10)");
  EXPECT_EQ(r.stdout_data, std::string(1000, 'x'));
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stderr_data, "eeeeeeeeee");
  EXPECT_FALSE(r.stderr_truncated);
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(LambdaRuncTest, ConcurrentRunsDoNotInterfere) {
  Runner();
  std::vector<std::future<Result<LambdaResult>>> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(std::async(std::launch::async, [this, i] {
      return runner_->Run(Req("print(" + std::to_string(i) + " * 11)", "python3", "", 0, 0));
    }));
  }
  for (int i = 0; i < 4; ++i) {
    auto r = runs[i].get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->stdout_data, std::to_string(i * 11) + "\n");
  }
}

TEST_F(LambdaRuncTest, WarmPoolSandboxesRunCodeLikeColdOnesAndAreCleanedUp) {
  config_.lambda.pool_size = 2;
  Runner();
  ASSERT_TRUE(runner_->WaitForPool(2, 20000));
  for (int i = 0; i < 3; ++i) {
    auto r = runner_->Run(Req("import sys\nprint(sys.stdin.read() * 2)", "python3", "ab", 0, 0));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->stdout_data, "abab\n");
    EXPECT_EQ(r->exit_code, 0);
  }
  // The pool's interpreter was started before the code existed; it must
  // still look like `python3 /sandbox/main.py`.
  auto py =
      runner_->Run(Req("import sys\nprint(sys.argv, sys.path[0], __name__)\nraise KeyError('k')",
                       "python3", "", 0, 0));
  ASSERT_TRUE(py.ok()) << py.status().ToString();
  EXPECT_EQ(py->stdout_data, "['/sandbox/main.py'] /sandbox __main__\n");
  EXPECT_EQ(py->stderr_data,
            "Traceback (most recent call last):\n"
            "  File \"/sandbox/main.py\", line 3, in <module>\n"
            "    raise KeyError('k')\n"
            "KeyError: 'k'\n");
  EXPECT_EQ(py->exit_code, 1);
  auto r = runner_->Run(Req("sleep 5", "sh", "", 500, 0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 137);
  ASSERT_TRUE(runner_->WaitForPool(2, 20000));
  // TearDown checks that the idle sandboxes are destroyed with the runner.
}

// Whatever ended the runs — exit, a timeout with a child that ignores
// SIGTERM, the OOM killer, a fork bomb, a pool sandbox never used — no cgroup
// carrying the instance's name survives the runner, in any hierarchy.
TEST_F(LambdaRuncTest, NoCgroupOfTheInstanceRemainsAfterTheRunnerIsDestroyed) {
  config_.lambda.pool_size = 1;
  Runner();
  ASSERT_TRUE(runner_->WaitForPool(1, 20000));
  EXPECT_FALSE(CgroupDirsNamed(config_.instance).empty())
      << "the scan must see the pool sandbox's cgroups, or it proves nothing";
  EXPECT_EQ(Python("print(1)").stdout_data, "1\n");
  auto sleeper = Python(
      "import os, signal, time\n"
      "if os.fork() == 0:\n"
      "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
      "    time.sleep(60)\n"
      "time.sleep(60)\n",
      "", 500);
  EXPECT_TRUE(sleeper.timed_out);
  EXPECT_TRUE(Python("x = bytearray(1 << 30)").oom_killed);
  auto bomb = Python(
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
      "", 1000);
  EXPECT_TRUE(bomb.timed_out);
  runner_->WaitForTeardown();
  runner_.reset();
  EXPECT_EQ(CgroupDirsNamed(config_.instance), std::vector<std::string>{});
}

// A crashed nexusd leaves its sandboxes' cgroups (and their parent) in every
// hierarchy; the next start removes them, and only them.
TEST_F(LambdaRuncTest, StartRemovesStaleCgroupsOfTheInstanceOnly) {
  const std::string stale = "nexus-" + config_.instance + "-lambda";
  const std::string other = "nexus-" + config_.instance + "x-lambda";
  std::vector<std::string> made;
  for (const char* h : {"pids", "memory", "cpu", "unified", "systemd"}) {
    const std::string root = std::string("/sys/fs/cgroup/") + h;
    if (!fs::is_directory(root)) continue;
    std::error_code ec;
    fs::create_directories(root + "/" + stale + "/" + config_.instance + "-l-0000000000000001", ec);
    ASSERT_FALSE(ec) << root << ": " << ec.message();
    fs::create_directories(root + "/" + other, ec);
    ASSERT_FALSE(ec) << root << ": " << ec.message();
    made.push_back(root);
  }
  if (made.empty()) GTEST_SKIP() << "no cgroup v1 hierarchies here";
  Runner();
  EXPECT_EQ(CgroupDirsNamed(stale), std::vector<std::string>{});
  for (const auto& root : made) {
    EXPECT_TRUE(fs::is_directory(root + "/" + other)) << "another instance's cgroup was removed";
    ::rmdir((root + "/" + other).c_str());
  }
}

// The engine the nodes use: a detached container through its whole life.
TEST_F(LambdaRuncTest, RuncRuntimeDrivesADetachedContainerThroughItsLife) {
  auto processes = NewPosixProcessRunner();
  RuncRuntime runc({runc_, data_dir_ + "/runc", 10000, nullptr}, *processes);
  auto layout = ProbeHostLayout("/");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  SandboxSpec spec;
  spec.args = {"/bin/sleep", "30"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.host = *layout;
  spec.host.swap_limit = (*cgroups)->swap_limit_supported();
  const std::string parent = "/nexus-" + config_.instance + "-lambda";
  spec.cgroups_path = parent + "/engine";
  const std::string bundle = data_dir_ + "/engine";
  ASSERT_TRUE(WriteBundle(bundle, spec).ok());
  const std::string id = config_.instance + "-engine";

  ASSERT_TRUE(runc.Create(id, bundle, bundle + "/console.log").ok());
  auto state = runc.State(id);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->status, ContainerStatus::kCreated);
  EXPECT_GT(state->pid, 0);
  ASSERT_TRUE(runc.Start(id).ok());
  state = runc.State(id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, ContainerStatus::kRunning);
  auto list = runc.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_TRUE((*cgroups)->Exists(spec.cgroups_path));

  auto start = Clock::now();
  ASSERT_TRUE(runc.Destroy(id).ok());
  std::printf("Destroy of a running container: %lld ms\n",
              static_cast<long long>(MillisSince(start)));
  EXPECT_EQ(runc.State(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE((*cgroups)->Exists(spec.cgroups_path));
  EXPECT_TRUE(runc.Destroy(id).ok()) << "destroying twice is fine";
  (void)(*cgroups)->Remove(parent);
  fs::remove_all(bundle);
}

// Not a check: prints hello-world latencies, interleaved so that machine load
// hits all alike: bare `python3 -c`, bare `runc run` of a lambda bundle (the
// same config and init, no LambdaRunner around it), LambdaRunner cold,
// then LambdaRunner warm (pool of 2, refilled between runs). Run with
// --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
// (NEXUS_BENCH_RUNS=n, default 20).
TEST_F(LambdaRuncTest, DISABLED_MeasureHelloWorldLatency) {
  const int n = std::getenv("NEXUS_BENCH_RUNS") ? std::atoi(std::getenv("NEXUS_BENCH_RUNS")) : 20;
  const char kHello[] = "print('hello from nexus')";
  auto processes = NewPosixProcessRunner();
  PosixEnv files;
  Runner();

  // A bundle like LambdaRunner's, run directly with runc.
  const std::string bundle = data_dir_ + "/bench-bundle";
  SandboxSpec spec;
  spec.args = {kSandboxInit};
  spec.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  spec.host = Runner().options().host;
  spec.cgroups_path = "/nexus-" + config_.instance + "-lambda/bench";
  spec.extra_mounts = {OciReadOnlyBind(NEXUS_LAMBDA_INIT_PATH, kSandboxInit, false)};
  spec.runtime_seccomp = false;  // the init installs it, as in a LambdaRunner sandbox
  ASSERT_TRUE(WriteBundle(bundle, spec).ok());
  fs::create_directories(bundle + "/rootfs/sandbox");
  std::ofstream(bundle + "/rootfs/sandbox/init").close();
  std::ofstream(bundle + "/rootfs/sandbox/main.py") << kHello;
  auto program = CompileSeccompProfile(SandboxSeccomp());
  ASSERT_TRUE(program.ok());
  auto seccomp_fd = SeccompProgramFd(*program);
  ASSERT_TRUE(seccomp_fd.ok());

  // The same config running `python3 -c` as its process, no init: what a
  // bare `runc run --keep` of it costs up to the answer.
  const std::string bare_bundle = data_dir_ + "/bench-bare";
  SandboxSpec bare_spec = spec;
  bare_spec.args = {kSandboxPython, "-c", kHello};
  bare_spec.cgroups_path = "/nexus-" + config_.instance + "-lambda/bench-bare";
  ASSERT_TRUE(WriteBundle(bare_bundle, bare_spec).ok());

  // A cold sandbox step by step (µs): writing the bundle and spawning runc;
  // runc's create and start until the init says "ready"; the order, the
  // interpreter, the code and the OOM read; the teardown.
  auto runc = std::make_unique<RuncRuntime>(RuncOptions{runc_, data_dir_ + "/runc", 10000, nullptr},
                                            *processes);
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  auto micros = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
  };

  std::vector<int64_t> bare_python, bare_runc, bare_keep, cold, cold_exec;
  std::vector<int64_t> step_start, step_ready, step_run, step_destroy;
  for (int i = 0; i < n; ++i) {
    {
      SandboxOptions o;
      o.id = config_.instance + "-l-step" + std::to_string(i);
      o.bundle_dir = data_dir_ + "/lambda/" + o.id;
      o.cgroups_path = "/nexus-" + config_.instance + "-lambda/" + o.id;
      o.host = Runner().options().host;
      o.init_path = NEXUS_LAMBDA_INIT_PATH;
      o.seccomp_fd = *seccomp_fd;
      fs::create_directories(data_dir_ + "/lambda");
      Sandbox sandbox(o, *runc, **cgroups, files);
      auto t = Clock::now();
      ASSERT_TRUE(sandbox.Start().ok());
      step_start.push_back(micros(t));
      t = Clock::now();
      ASSERT_TRUE(sandbox.WaitReady(10000).ok());
      step_ready.push_back(micros(t));
      t = Clock::now();
      SandboxRun run;
      run.runtime = "python3";
      run.code = kHello;
      auto r = sandbox.RunCode(run);
      step_run.push_back(micros(t));
      ASSERT_TRUE(r.ok() && r->stdout_data == "hello from nexus\n");
      t = Clock::now();
      ASSERT_TRUE(sandbox.Destroy().ok());
      step_destroy.push_back(micros(t));
    }

    auto t = Clock::now();
    SpawnOptions keep;
    keep.argv = {runc_,    "--root",   data_dir_ + "/runc", "run",
                 "--keep", "--bundle", bare_bundle,         "bench-bare"};
    auto k = processes->Run(keep, {});
    bare_keep.push_back(MillisSince(t));
    ASSERT_TRUE(k.ok() && k->stdout_data == "hello from nexus\n") << (k.ok() ? k->stderr_data : "");
    ASSERT_TRUE(runc->Delete("bench-bare").ok());

    t = Clock::now();
    SpawnOptions py;
    py.argv = {kSandboxPython, "-c", kHello};
    auto p = processes->Run(py, {});
    bare_python.push_back(MillisSince(t));
    ASSERT_TRUE(p.ok() && p->stdout_data == "hello from nexus\n");

    t = Clock::now();
    SpawnOptions rc;
    rc.argv = {runc_,  "--root", data_dir_ + "/runc", "run", "--preserve-fds", "4", "--bundle",
               bundle, "bench"};
    rc.control_pipe = true;
    using Kind = SpawnOptions::ExtraFd::Kind;
    rc.extra_fds = {{Kind::kStdoutPipe}, {Kind::kStderrPipe}, {Kind::kCallers, *seccomp_fd}};
    CommunicateOptions io;
    io.stdin_data = "python3 10000\n";
    auto r = processes->Run(rc, io);
    bare_runc.push_back(MillisSince(t));
    ASSERT_TRUE(r.ok() && r->stdout_data == "hello from nexus\n") << (r.ok() ? r->stderr_data : "");

    t = Clock::now();
    auto l = runner_->Run(Req(kHello, "python3", "", 0, 0));
    cold.push_back(MillisSince(t));
    ASSERT_TRUE(l.ok() && l->stdout_data == "hello from nexus\n");
    cold_exec.push_back(l->execution_time_ms);
  }
  fs::remove_all(bundle);
  fs::remove_all(bare_bundle);
  ::close(*seccomp_fd);
  runner_.reset();
  config_.lambda.pool_size = 2;
  Runner();
  std::vector<int64_t> warm, warm_exec;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(runner_->WaitForPool(2, 10000));
    auto t = Clock::now();
    auto l = runner_->Run(Req(kHello, "python3", "", 0, 0));
    warm.push_back(MillisSince(t));
    ASSERT_TRUE(l.ok() && l->stdout_data == "hello from nexus\n");
    warm_exec.push_back(l->execution_time_ms);
  }
  auto report = [n](const char* label, std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-28s median %4lld ms  p90 %4lld ms  min %4lld ms\n", label,
                static_cast<long long>(v[n / 2]), static_cast<long long>(v[n * 9 / 10]),
                static_cast<long long>(v[0]));
  };
  report("python3 -c (bare)", bare_python);
  report("runc run --keep python3 -c", bare_keep);
  report("runc run (bare)", bare_runc);
  report("cold step: bundle+spawn us", step_start);
  report("cold step: to ready us", step_ready);
  report("cold step: order..OOM us", step_run);
  report("cold step: teardown us", step_destroy);
  report("LambdaRunner cold", cold);
  report("  its execution_time_ms", cold_exec);
  report("LambdaRunner warm", warm);
  report("  its execution_time_ms", warm_exec);
}

}  // namespace
}  // namespace nexus::daemon::runtime
