// LambdaRunner against the real runc, what a run answers: output, exit
// codes, signals, stdin, the output cap, concurrent runs and the warm pool.
// Set-up and the leftover checks in lambda_runc_fixture.h.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "unit/daemon/lambda/lambda_runc_fixture.h"

namespace nexus::daemon::runtime {
namespace {

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

}  // namespace
}  // namespace nexus::daemon::runtime
