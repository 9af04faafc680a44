"""Lambda's escape suite, run from inside the sandbox: network, host files,
privileges, limits (memory, time, pids, /tmp, output), the seccomp filter
and children left behind. At the end the instance is stopped and nothing
of the sandboxes may be left: containers, bundles, processes.
from harness import wait_until
from lambda_runs import (MARKER, MiB, host_processes_with, assert_only_the_warm_pool_is_alive,
                         assert_stopping_leaves_nothing, run, run_json, run_ok)

Needs root and runc: skipped without them, failed without them under
CI=true (see lambda_runs.py). One instance serves the whole module.
"""

import json
import secrets
import textwrap

from harness import wait_until
from lambda_runs import (MARKER, MiB, host_processes_with, assert_only_the_warm_pool_is_alive,
                         assert_stopping_leaves_nothing, run, run_json, run_ok)


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


def test_pid_1_is_the_sandboxs_own_and_no_environment_leaks(lam, lambda_instance):
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
    wait_until(lambda: not host_processes_with(tag), 5, f"processes of {tag} still alive")


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
    wait_until(lambda: not host_processes_with(tag), 5, f"processes of {tag} still alive")


# ---------------------------------------------------------------- after the suite
# Keep these last: the first checks the live instance, the second stops it.


def test_zz_after_the_suite_only_the_warm_pool_is_alive(lam):
    assert_only_the_warm_pool_is_alive(lam)


def test_zz_stopping_the_instance_leaves_no_container_bundle_cgroup_mount_or_process(lam):
    assert_stopping_leaves_nothing(lam)
