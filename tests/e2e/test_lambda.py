"""Lambda (POST /api/lambda/run): the contract's run, output, exit codes,
stdin, concurrency, isolation between runs, request checks — and an escape
suite run from inside the sandbox: network, host files, privileges, limits
(memory, time, pids, /tmp, output). At the end the instance is stopped and
nothing of the sandboxes may be left: containers, bundles, processes.

Needs root and runc (nexusd runs sandboxes with runc): skipped without them,
failed without them under CI=true. One instance serves the whole module; its
services carry a random marker in their environment that no sandbox output
may ever contain.
"""

import concurrent.futures
import json
import os
import secrets
import shutil
import subprocess
import textwrap
import time

import pytest

from harness import assert_json_error, new_user, register, skip_or_fail, wait_until

MiB = 1 << 20
MARKER_VAR = "E2E_SANDBOX_MARKER"
MARKER = "marker-" + secrets.token_hex(16)
RUN = "/api/lambda/run"
# Every response body of this module, for the final marker check.
_responses = []


def runc_path():
    return shutil.which("runc") or ("/usr/sbin/runc" if os.access("/usr/sbin/runc", os.X_OK)
                                    else None)


@pytest.fixture(scope="module")
def _lambda_instance(module_nexus_factory):
    if os.geteuid() != 0:
        skip_or_fail("lambda needs root (nexusd starts runc containers)")
    if runc_path() is None:
        skip_or_fail("lambda needs runc (apt-get install runc)")
    inst = module_nexus_factory(env={MARKER_VAR: MARKER}, name="lambda")
    user = new_user("lambda")
    register(inst, user)
    inst.user = user
    return inst


@pytest.fixture
def lam(_lambda_instance, attach_logs):
    attach_logs(_lambda_instance)
    dead = {n: p.returncode for n, p in _lambda_instance.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"lambda instance services exited: {dead}", pytrace=False)
    return _lambda_instance


def run(inst, code, runtime="python3", stdin=None, timeout_ms=None, retry_for_s=120):
    """POSTs a run; retries 429 (all slots busy) with backoff. Returns
    (response, seconds the last attempt took)."""
    body = {"Code": code, "Runtime": runtime}
    if stdin is not None:
        body["Stdin"] = stdin
    if timeout_ms is not None:
        body["TimeoutMs"] = timeout_ms
    deadline = time.monotonic() + retry_for_s
    backoff = 0.05
    while True:
        start = time.monotonic()
        r = inst.api.post(RUN, token=inst.user.token, json=body, timeout=120)
        elapsed = time.monotonic() - start
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(backoff)
        backoff = min(backoff * 2, 1.0)
    _responses.append(r.text)
    assert MARKER not in r.text, "a sandbox saw the services' environment"
    return r, elapsed


def run_ok(inst, code, **kw):
    r, elapsed = run(inst, code, **kw)
    assert r.status_code == 200, f"{r.status_code} {r.text[:500]}"
    out = r.json()
    assert isinstance(out.get("stdout"), str) and isinstance(out.get("stderr"), str), out
    assert isinstance(out.get("exit_code"), int), out
    return out


def run_json(inst, code, **kw):
    """Runs a snippet whose last stdout line is JSON; returns it parsed."""
    out = run_ok(inst, textwrap.dedent(code), **kw)
    assert out["exit_code"] == 0, out
    return json.loads(out["stdout"].strip().splitlines()[-1])


# ---------------------------------------------------------------- the contract


def test_the_contracts_hello(lam):
    r, _ = run(lam, "print('hello from nexus')")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    out = r.json()
    assert out["stdout"] == "hello from nexus\n"
    assert out["stderr"] == ""
    assert out["exit_code"] == 0
    assert isinstance(out["execution_time_ms"], int) and 0 <= out["execution_time_ms"] < 10000
    assert out.get("timed_out", False) is False
    assert out.get("oom_killed", False) is False


def test_stderr_and_a_non_zero_exit(lam):
    out = run_ok(lam, "import sys\nprint('to out')\nsys.stderr.write('to err\\n')\nsys.exit(3)")
    assert (out["stdout"], out["stderr"], out["exit_code"]) == ("to out\n", "to err\n", 3)
    assert out.get("timed_out", False) is False


def test_an_exception_is_exit_1_with_the_traceback_on_stderr(lam):
    out = run_ok(lam, "raise ValueError('boom')")
    assert out["exit_code"] == 1
    assert "Traceback" in out["stderr"] and "ValueError: boom" in out["stderr"]


def test_stdin_reaches_the_program(lam):
    data = "line one\nline two\n\u00fcml\u00e4ut\n"
    out = run_ok(lam, "import sys\nsys.stdout.write(sys.stdin.read())", stdin=data)
    assert out["stdout"] == data


def test_unicode_output_survives(lam):
    text = "h\u00e9llo w\u00f6rld \u2713 \u6587\u4ef6 \U0001F680"
    out = run_ok(lam, f"import sys\nprint({text!r})\nprint({text!r}, file=sys.stderr)")
    assert out["stdout"] == text + "\n"
    assert out["stderr"] == text + "\n"


def test_output_that_is_not_utf8_still_gives_a_json_answer(lam):
    out = run_ok(lam, "import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe\\n')")
    assert out["stdout"].startswith("ok")
    assert out["exit_code"] == 0


def test_the_sh_runtime(lam):
    out = run_ok(lam, "echo hi from sh; echo oops >&2; exit 4", runtime="sh")
    assert (out["stdout"], out["stderr"], out["exit_code"]) == ("hi from sh\n", "oops\n", 4)


def test_twenty_concurrent_runs_are_all_correct(lam):
    def one(i):
        out = run_ok(lam, f"import sys\nprint({i} * 7)\nprint('e{i}', file=sys.stderr)")
        return i, out

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    for i, out in results:
        assert (out["stdout"], out["stderr"], out["exit_code"]) == (f"{i * 7}\n", f"e{i}\n", 0)


def test_a_run_never_sees_what_another_run_wrote(lam):
    name = "left-" + secrets.token_hex(6)
    written = run_json(lam, f"""
        import json, os
        for d in ("/tmp", "/dev/shm"):
            with open(os.path.join(d, {name!r}), "w") as f:
                f.write("secret")
        print(json.dumps(sorted(os.listdir("/tmp"))))
    """)
    assert name in written
    # Enough runs to get both pooled and freshly started sandboxes.
    for _ in range(4):
        seen = run_json(lam, f"""
            import json, os
            print(json.dumps([os.path.exists(os.path.join(d, {name!r}))
                              for d in ("/tmp", "/dev/shm")] + [os.listdir("/tmp")]))
        """)
        assert seen == [False, False, []], seen


@pytest.mark.parametrize("body,what", [
    ({"Code": "", "Runtime": "python3"}, "empty code"),
    ({"Code": "print(1)", "Runtime": "cobol"}, "unknown runtime"),
    ({"Code": "print(1)", "Runtime": ""}, "empty runtime"),
    ({"Code": "print(1)" + "#" * MiB, "Runtime": "python3"}, "code over 1 MiB"),
    ({"Code": "print(1)", "Runtime": "python3", "TimeoutMs": -5}, "negative timeout"),
], ids=["empty-code", "unknown-runtime", "empty-runtime", "code-over-1MiB", "negative-timeout"])
def test_bad_requests_are_a_400(lam, body, what):
    r = lam.api.post(RUN, token=lam.user.token, json=body, timeout=30)
    _responses.append(r.text)
    assert_json_error(r, 400)


def test_code_of_exactly_1_mib_runs(lam):
    head = "print('big code ok')\n"
    code = head + "#" * (MiB - len(head))
    assert len(code.encode()) == MiB
    out = run_ok(lam, code)
    assert out["stdout"] == "big code ok\n"


def test_a_run_needs_a_token(lam):
    assert_json_error(lam.api.post(RUN, json={"Code": "print(1)", "Runtime": "python3"}), 401)


# ---------------------------------------------------------------- escape suite


def test_the_gateway_port_on_loopback_is_the_sandboxs_own_loopback(lam):
    got = run_json(lam, f"""
        import json, socket
        res = {{}}
        for port in ({lam.port}, 22, 80):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", port))
                res[port] = "connected"
            except ConnectionRefusedError:
                res[port] = "refused"
            except OSError as e:
                res[port] = type(e).__name__ + str(e.errno)
            finally:
                s.close()
        print(json.dumps(res))
    """)
    assert got == {str(lam.port): "refused", "22": "refused", "80": "refused"}, got


def test_only_loopback_no_routes(lam):
    got = run_json(lam, """
        import json
        devs = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
        routes = open("/proc/net/route").read().splitlines()[1:]
        try:
            v6 = open("/proc/net/ipv6_route").read().split()
        except FileNotFoundError:
            v6 = []
        print(json.dumps({"devs": devs, "routes": routes, "v6_routes_via": v6}))
    """)
    assert got["devs"] == ["lo"], got
    assert got["routes"] == [], got
    # IPv6 (if on): only loopback's own routes, on device "lo".
    assert all(tok == "lo" for tok in got["v6_routes_via"][9::10]), got


def test_host_files_are_not_there(lam):
    got = run_json(lam, f"""
        import json, os
        def probe(path):
            try:
                with open(path, "rb") as f:
                    f.read(1)
                return "readable"
            except FileNotFoundError:
                return "missing"
            except OSError as e:
                return "errno%d" % e.errno
        res = {{p: probe(p) for p in ("/etc/shadow", "/etc/gshadow", "/root/.bashrc",
                                      "/etc/ssh/sshd_config", "/var/log/syslog")}}
        res["data_dir"] = os.path.exists({lam.data_dir!r})
        res["root_dir"] = os.path.exists("/root")
        res["home"] = os.path.exists("/home")
        res["top"] = sorted(os.listdir("/"))
        res["users"] = [l.split(":")[0] for l in open("/etc/passwd").read().splitlines() if l]
        print(json.dumps(res))
    """)
    for path in ("/etc/shadow", "/etc/gshadow", "/root/.bashrc", "/etc/ssh/sshd_config",
                 "/var/log/syslog"):
        assert got[path] == "missing", (path, got)
    assert got["data_dir"] is False and got["root_dir"] is False and got["home"] is False, got
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "tmp", "proc",
               "dev", "sys", "sandbox"}
    assert set(got["top"]) <= allowed, got["top"]
    assert set(got["users"]) <= {"root", "nobody"}, got["users"]


def test_pid_1_is_the_sandboxs_own_and_no_environment_leaks(lam, _lambda_instance):
    # Sanity: the marker really is in the services' environment.
    with open(f"/proc/{lam.procs['nexusd'].pid}/environ", "rb") as f:
        assert MARKER.encode() in f.read()
    got = run_json(lam, """
        import json, os
        def read(path):
            try:
                with open(path, "rb") as f:
                    return f.read().decode(errors="replace")
            except OSError as e:
                return "errno%d" % e.errno
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(read("/proc/1/environ"))
        print(read("/proc/self/environ"))
        print(json.dumps(dict(os.environ)))
        print(json.dumps({"pids": pids, "cmd1": read("/proc/1/cmdline"), "me": os.getpid(),
                          "uid": os.getuid(), "gid": os.getgid()}))
    """)
    assert 1 in got["pids"] and len(got["pids"]) < 10, got
    # The sandbox's own init (nexus-lambda-init), not the host's.
    assert got["cmd1"].split("\0")[0] == "/sandbox/init", got
    assert (got["uid"], got["gid"]) == (65534, 65534), got


def test_the_program_cannot_reopen_the_inits_control_pipe_to_forge_its_report(lam):
    # The program has the init's uid and /proc is mounted; the init being
    # non-dumpable keeps /proc/1/* (its report pipe fd 3, its stdin, which
    # runc hands to the container's uid, its environment) out of reach. Were
    # fd 3 open, the forged lines would replace the true report (exit 7).
    out = run_ok(lam, textwrap.dedent(r"""
        import json, os, sys
        got = {}
        for path, flags in (("/proc/1/fd/3", os.O_WRONLY), ("/proc/1/fd/0", os.O_RDONLY),
                            ("/proc/1/environ", os.O_RDONLY)):
            try:
                fd = os.open(path, flags)
            except PermissionError as e:
                got[path] = "denied errno%d" % e.errno
                continue
            except OSError as e:
                got[path] = "other errno%d" % e.errno
                continue
            got[path] = "opened"
            if flags == os.O_WRONLY:
                os.write(fd, b"exit 0 0\nsignal 2147483647 0\nexit 0 1\n")
            os.close(fd)
        print(json.dumps(got))
        sys.exit(7)
    """))
    got = json.loads(out["stdout"].strip().splitlines()[-1])
    for path in ("/proc/1/fd/3", "/proc/1/fd/0", "/proc/1/environ"):
        assert got[path].startswith("denied"), got
    assert out["exit_code"] == 7, out
    assert not out.get("signal"), out
    assert out.get("timed_out", False) is False, out


def test_writing_outside_tmp_fails(lam):
    got = run_json(lam, """
        import json
        res = {}
        for path in ("/x", "/usr/x", "/usr/bin/x", "/etc/x", "/etc/passwd", "/sandbox/x",
                     "/sandbox/main.py", "/dev/x", "/proc/x"):
            try:
                with open(path, "w") as f:
                    f.write("x")
                res[path] = "written"
            except OSError as e:
                res[path] = "refused"
        print(json.dumps(res))
    """)
    assert set(got.values()) == {"refused"}, got


def test_tmp_is_limited_to_16_mib(lam):
    got = run_json(lam, """
        import errno, json
        written, err = 0, None
        block = b"x" * (1 << 20)
        try:
            with open("/tmp/fill", "wb") as f:
                for _ in range(64):
                    f.write(block)
                    f.flush()
                    written += len(block)
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
        print(json.dumps({"written": written, "err": err}))
    """)
    assert got["err"] == "ENOSPC", got
    assert 8 * MiB <= got["written"] <= 16 * MiB, got


def test_a_fork_bomb_is_limited_and_the_daemon_stays_healthy(lam):
    counted = run_json(lam, """
        import errno, json, os, signal
        n, err = 0, None
        try:
            while n < 10000:
                pid = os.fork()
                if pid == 0:
                    signal.pause()
                    os._exit(0)
                n += 1
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
        print(json.dumps({"forked": n, "err": err}))
    """, timeout_ms=20000)
    assert counted["err"] == "EAGAIN" and counted["forked"] < 64, counted  # pids limit 64

    r, elapsed = run(lam, textwrap.dedent("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """), timeout_ms=3000)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["exit_code"] != 0, out
    assert elapsed < 3 + 10, elapsed
    assert lam.api.get("/healthz").status_code == 200
    assert run_ok(lam, "print('after the bomb')")["stdout"] == "after the bomb\n"


def test_allocating_1_gib_is_oom_killed(lam):
    out = run_ok(lam, "x = b'\\x01' * (1 << 30)\nprint('survived', len(x))")
    assert out["oom_killed"] is True, out
    assert out["exit_code"] == 137, out
    assert "survived" not in out["stdout"]


def test_an_endless_loop_is_killed_at_its_timeout(lam):
    r, elapsed = run(lam, "while True:\n    pass", timeout_ms=1000)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["timed_out"] is True, out
    assert out["exit_code"] == 137, out
    # timeout + 1 s by design; generous slack for a loaded CI machine.
    assert elapsed < 5, elapsed
    assert 900 <= out["execution_time_ms"] <= 5000, out


def test_a_flood_of_output_is_truncated_and_the_answer_stays_small(lam):
    # 1 MiB at a time: one 100 MiB string would hit the memory limit instead.
    r, elapsed = run(lam, "import sys\nb = 'x' * (1 << 20)\nfor _ in range(100):\n"
                     "    sys.stdout.write(b)\nprint('end')", timeout_ms=20000)
    assert r.status_code == 200, r.text[:300]
    assert len(r.content) < 2 * MiB, len(r.content)
    out = r.json()
    assert out["stdout_truncated"] is True, {k: v for k, v in out.items() if k != "stdout"}
    assert set(out["stdout"]) <= {"x"}
    assert 0 < len(out["stdout"]) <= MiB


def test_no_way_back_to_root(lam):
    got = run_json(lam, """
        import ctypes, json, os, subprocess
        res = {}
        for name, fn in (("setuid", lambda: os.setuid(0)), ("setgid", lambda: os.setgid(0)),
                         ("seteuid", lambda: os.seteuid(0))):
            try:
                fn()
                res[name] = "allowed"
            except OSError as e:
                res[name] = "denied"
        libc = ctypes.CDLL(None, use_errno=True)
        for flag, name in ((0x10000000, "unshare_user"), (0x00020000, "unshare_mount"),
                           (0x40000000, "unshare_net")):
            res[name] = "allowed" if libc.unshare(flag) == 0 else "denied"
        res["mount"] = "allowed" if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0 \\
            else "denied"
        res["chroot"] = "allowed" if libc.chroot(b"/tmp") == 0 else "denied"
        if os.path.exists("/usr/bin/unshare"):
            p = subprocess.run(["/usr/bin/unshare", "-r", "-m", "true"], capture_output=True)
            res["unshare_cmd"] = "allowed" if p.returncode == 0 else "denied"
        caps = [l for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm",
                                                                     "NoNewPrivs"))]
        res["status"] = caps
        print(json.dumps(res))
    """)
    status = got.pop("status")
    assert set(got.values()) == {"denied"}, got
    assert "CapEff:\t0000000000000000\n" in status, status
    assert "CapPrm:\t0000000000000000\n" in status, status
    assert "NoNewPrivs:\t1\n" in status, status


def test_the_program_runs_under_the_seccomp_filter_and_holds_none_of_the_inits_descriptors(lam):
    # The init installs the filter itself (runc no longer does): the program
    # must be under it — one filter, in filter mode — and must not hold the
    # descriptors the init was handed (control pipe, output pipes, filter).
    got = run_json(lam, """
        import ctypes, errno, json, os
        status = dict(l.rstrip("\\n").split(":\\t", 1) for l in open("/proc/self/status")
                      if ":\\t" in l)
        libc = ctypes.CDLL(None, use_errno=True)
        # ADDR_NO_RANDOMIZE: allowed to any user by the kernel, refused by the filter.
        rc = libc.personality(0x0040000)
        res = {"seccomp": status.get("Seccomp"), "filters": status.get("Seccomp_filters"),
               "personality": "allowed" if rc != -1 else errno.errorcode[ctypes.get_errno()],
               "fds": sorted(int(f) for f in os.listdir("/proc/self/fd"))}
        print(json.dumps(res))
    """)
    assert got["seccomp"] == "2", got
    if got["filters"] is not None:
        assert got["filters"] == "1", got
    assert got["personality"] == "EPERM", got
    # 0-2, plus the one listdir opened.
    assert got["fds"][:3] == [0, 1, 2] and len(got["fds"]) <= 4, got
    sh = run_ok(lam, "grep '^Seccomp:' /proc/self/status; ls /proc/self/fd | sort -n | "
                     "tr '\\n' ' '", runtime="sh")
    assert sh["stdout"].startswith("Seccomp:\t2\n"), sh
    # 0-2, plus the one ls opened.
    fds = sh["stdout"].split("\n")[1].split()
    assert fds[:3] == ["0", "1", "2"] and len(fds) <= 4, sh


def _host_processes_with(text):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_child_that_ignores_sigterm_is_killed_at_the_timeout(lam):
    tag = "sleeper-" + secrets.token_hex(6)
    code = textwrap.dedent(f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen([sys.executable, "-c",
                          "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(60)", {tag!r}])
        print("started", flush=True)
        time.sleep(60)
    """)
    r, elapsed = run(lam, code, timeout_ms=1500)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["timed_out"] is True and out["exit_code"] == 137, out
    assert out["stdout"] == "started\n"
    assert elapsed < 6, elapsed
    wait_until(lambda: not _host_processes_with(tag), 5, f"processes of {tag} still alive")


def test_a_child_left_behind_does_not_outlive_its_run(lam):
    tag = "orphan-" + secrets.token_hex(6)
    code = textwrap.dedent(f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", {tag!r}],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        print("parent done")
    """)
    out = run_ok(lam, code, timeout_ms=10000)
    assert out["stdout"] == "parent done\n" and out["exit_code"] == 0, out
    wait_until(lambda: not _host_processes_with(tag), 5, f"processes of {tag} still alive")


# ---------------------------------------------------------------- after the suite
# Keep these last: the first checks the live instance, the second stops it.


def _lambda_dir(inst):
    """Where nexusd keeps the instance's sandboxes: /run/nexus-<instance>/lambda."""
    return os.path.join("/run", f"nexus-{inst.env['NEXUS_INSTANCE']}", "lambda")


def _runc_containers(inst):
    root = os.path.join(_lambda_dir(inst), "runc")
    if not os.path.isdir(root):
        return []
    p = subprocess.run([runc_path(), "--root", root, "list", "--format", "json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout or "null") or []


def _bundles(inst):
    d = _lambda_dir(inst)
    return sorted(n for n in os.listdir(d) if n.startswith(inst.env["NEXUS_INSTANCE"] + "-l-")) \
        if os.path.isdir(d) else []


def _sandbox_processes(inst):
    """Processes of the sandbox uid in this instance's lambda cgroups."""
    parent = f"nexus-{inst.env['NEXUS_INSTANCE']}-lambda"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                uid_line = next(l for l in f if l.startswith("Uid:"))
            with open(f"/proc/{pid}/cgroup") as f:
                cgroup = f.read()
        except (OSError, StopIteration):
            continue
        if uid_line.split()[1] == "65534" and parent in cgroup:
            found.append(int(pid))
    return found


def _cgroups_named(name):
    """Cgroup directories (any hierarchy, down to 4 levels) whose name has `name`."""
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") >= 8:
            dirs[:] = []
            continue
        for d in list(dirs):
            if name in d:
                found.append(os.path.join(top, d))
                dirs.remove(d)
    return found


def _mounts_named(name):
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if name in line]


def test_zz_after_the_suite_only_the_warm_pool_is_alive(lam):
    assert lam.api.get("/healthz").status_code == 200
    pool = 2  # lambda.pool_size default
    # Teardown runs after each answer and the pool refills after it (a new
    # sandbox is "created" before "running"): give both a moment.
    deadline = time.monotonic() + 15
    while True:
        containers, bundles = _runc_containers(lam), _bundles(lam)
        ids = {c["id"] for c in containers}
        if (len(containers) <= pool and set(bundles) == ids and
                all(c.get("status") == "running" for c in containers)):
            break
        assert time.monotonic() < deadline, (
            [(c["id"], c.get("status"), c.get("pid")) for c in containers], bundles)
        time.sleep(0.1)


def test_zz_stopping_the_instance_leaves_no_container_bundle_cgroup_mount_or_process(lam):
    for name in ("nexus-api", "nexusd"):
        assert lam.stop_service(name) == 0, lam.logs_text()
    instance = lam.env["NEXUS_INSTANCE"]
    assert _runc_containers(lam) == []
    assert _bundles(lam) == []
    # Its runtime directory (bundles, the shared /etc, the init's copy, runc's
    # state) goes with it, and nothing of the sandboxes was ever in the data dir.
    assert not os.path.exists(os.path.dirname(_lambda_dir(lam))), os.listdir(_lambda_dir(lam))
    for name in ("lambda", "lambda-etc", "runc"):
        assert not os.path.exists(os.path.join(lam.data_dir, name)), name
    wait_until(lambda: not _sandbox_processes(lam), 5,
               f"sandbox processes left: {_sandbox_processes(lam)}")
    # Everything host-global carries the instance name: the cgroup parent
    # "nexus-<instance>-lambda" and its sandboxes' children, runc's commands
    # (container ids "<instance>-l-..."), any mount a sandbox made.
    assert _cgroups_named(instance) == []
    assert _mounts_named(instance) == []
    assert _host_processes_with(instance) == []
    text = "\n".join(_responses)
    assert MARKER not in text
    for service, log in lam.logs().items():
        assert MARKER not in log, f"{service} logged its environment"
