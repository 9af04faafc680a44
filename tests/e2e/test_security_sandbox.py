"""Lambda sandboxes and nodes attacked from inside, through the public API:
which sockets a snippet or a node's command can open (only AF_UNIX, AF_INET
and AF_INET6, nodes also route and diag netlink; every other family answers
EAFNOSUPPORT, and no 32-bit syscall gets around that), what they learn of the
host's layout (their mounts, /sys, /proc name no path of the data dir or of
the installation), and whether another local user of the host can read a
snippet's code while it runs.

Needs root and runc (and, for the node tests, the CNI plugins and disk
tools): skipped without them, failed without them under CI=true. One
instance serves the module, its nodes on a random 10.241.<n>.0/24; every node
is deleted at the end and whatever might be left is removed.
"""

import concurrent.futures
import glob
import ipaddress
import json
import os
import platform
import random
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from harness import new_user, register, skip_or_fail
from nodes_host import HostView
from nodes_host import missing_requirements as _missing_requirements

RUN = "/api/lambda/run"
NODES = "/api/nodes"
SLOW = 60
SANDBOX_UID = 65534

# name: (family, type, protocol). Each is one a kernel that has the family
# would open for someone (a few need CAP_NET_RAW, which nobody here has).
DENIED_FAMILIES = {
    "AF_UNSPEC": (0, 1, 0),
    "AF_AX25": (3, 2, 0),
    "AF_APPLETALK": (5, 2, 0),
    "AF_X25": (9, 5, 0),
    "AF_KEY": (15, 3, 2),
    "AF_PACKET": (17, 3, 0),
    "AF_RDS": (21, 5, 0),
    "AF_CAN": (29, 3, 1),
    "AF_TIPC": (30, 4, 0),
    "AF_BLUETOOTH": (31, 3, 0),
    "AF_ALG": (38, 5, 0),
    "AF_VSOCK": (40, 1, 0),
    "AF_QIPCRTR": (42, 2, 0),
    "AF_SMC": (43, 1, 0),
    "AF_XDP": (44, 3, 0),
    "AF_MCTP": (45, 2, 0),
    "family 46": (46, 2, 0),
    "family 1000": (1000, 2, 0),
}
NETLINK_ROUTE = ("AF_NETLINK route", (16, 3, 0))
NETLINK_UEVENT = ("AF_NETLINK uevent", (16, 2, 15))
NETLINK_AUDIT = ("AF_NETLINK audit", (16, 3, 9))

# Opens each socket (and socketpair) of FAMILIES, printing {name: "ok" or
# the errno's name} as JSON.
FAMILY_PROBE = textwrap.dedent("""
    import errno, json, socket, sys
    FAMILIES = json.loads(sys.argv[1])

    def attempt(make):
        try:
            made = make()
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
        for s in made if isinstance(made, tuple) else (made,):
            s.close()
        return "ok"

    out = {}
    for name, (family, kind, proto) in FAMILIES.items():
        out[name] = attempt(lambda: socket.socket(family, kind, proto))
        out["pair " + name] = attempt(lambda: socket.socketpair(family, kind, proto))
    print(json.dumps(out))
""")

# What everyday networking in the three families still does.
ALLOWED_PROBE = textwrap.dedent("""
    import asyncio, json, socket
    res = {}
    a, b = socket.socketpair()
    a.sendall(b"p")
    res["unix socketpair"] = b.recv(1).decode()
    srv = socket.socket(socket.AF_UNIX)
    srv.bind("/tmp/probe.sock")
    srv.listen()
    c = socket.socket(socket.AF_UNIX)
    c.connect("/tmp/probe.sock")
    conn, _ = srv.accept()
    c.sendall(b"u")
    res["unix stream"] = conn.recv(1).decode()
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        srv = socket.socket(family)
        srv.bind((host, 0))
        srv.listen()
        c = socket.create_connection((host, srv.getsockname()[1]))
        conn, _ = srv.accept()
        c.sendall(b"t")
        res[family.name + " tcp"] = conn.recv(1).decode()
        u1, u2 = socket.socket(family, socket.SOCK_DGRAM), socket.socket(family, socket.SOCK_DGRAM)
        u2.bind((host, 0))
        u1.sendto(b"d", u2.getsockname())
        res[family.name + " udp"] = u2.recv(1).decode()
    # AI_ADDRCONFIG makes glibc ask netlink which families are configured;
    # it assumes both when it cannot (a lambda has no netlink).
    infos = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
    res["getaddrinfo"] = "AF_INET" in {ai[0].name for ai in infos}

    async def echo(reader, writer):
        writer.write(await reader.read(1))
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"a")
        got = await reader.read(1)
        server.close()
        return got.decode()

    res["asyncio"] = asyncio.run(main())
    print(json.dumps(res))
""")
ALLOWED_ANSWER = {
    "unix socketpair": "p", "unix stream": "u", "AF_INET tcp": "t", "AF_INET udp": "d",
    "AF_INET6 tcp": "t", "AF_INET6 udp": "d", "getaddrinfo": True,
    "asyncio": "a",
}

# A socket of the x32 ABI (its syscall numbers carry bit 30).
X32_PROBE = textwrap.dedent("""
    import ctypes, errno
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.syscall(0x40000000 | 41, 40, 1, 0)  # socket(AF_VSOCK, SOCK_STREAM, 0)
    print("fd" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), "?"))
""")
# socketcall(SYS_SOCKET, {AF_VSOCK, SOCK_STREAM, 0}) through int 0x80, the
# 32-bit ABI, whose arguments seccomp cannot read. Some hosts fault on int
# 0x80 altogether (SIGSEGV), which proves nothing but does no harm.
INT80_PROBE = textwrap.dedent("""
    import ctypes, errno, mmap, struct
    # push rbx; mov eax, 102; mov ebx, edi; mov ecx, esi; int 0x80; pop rbx; ret
    code = bytes([0x53, 0xb8, 102, 0, 0, 0, 0x89, 0xfb, 0x89, 0xf1, 0xcd, 0x80, 0x5b, 0xc3])
    text = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    text.write(code)
    call = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint, ctypes.c_uint)(
        ctypes.addressof(ctypes.c_char.from_buffer(text)))
    low = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40)  # MAP_32BIT
    low.write(struct.pack("<III", 40, 1, 0))
    r = call(1, ctypes.addressof(ctypes.c_char.from_buffer(low)))
    print("fd" if r >= 0 else errno.errorcode.get(-r, "?"))
""")


def runc_path():
    return shutil.which("runc") or ("/usr/sbin/runc" if os.access("/usr/sbin/runc", os.X_OK)
                                    else None)


@pytest.fixture(scope="module")
def _instance(module_nexus_factory):
    if os.geteuid() != 0:
        skip_or_fail("sandboxes need root (nexusd starts runc containers)")
    if runc_path() is None:
        skip_or_fail("sandboxes need runc (apt-get install runc)")
    subnet = ipaddress.ip_network(f"10.241.{random.randrange(256)}.0/24")
    inst = module_nexus_factory(env={"NEXUS_NETWORK_SUBNET": str(subnet)}, name="sandbox")
    inst.user = new_user("sbx")
    register(inst, inst.user)
    inst.host = HostView(inst)
    try:
        yield inst
    finally:
        try:
            r = inst.api.get(NODES, token=inst.user.token, timeout=SLOW)
            for node in (r.json() if r.status_code == 200 else []):
                inst.api.request("DELETE", f"{NODES}/{node['id']}", token=inst.user.token,
                                 timeout=SLOW)
        except Exception:  # noqa: BLE001 - teardown is best effort; force_clean follows
            pass
        inst.host.force_clean()


@pytest.fixture
def box(_instance, attach_logs):
    attach_logs(_instance)
    dead = {n: p.returncode for n, p in _instance.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"instance services exited: {dead}", pytrace=False)
    return _instance


@pytest.fixture(scope="module")
def _node(_instance):
    missing = _missing_requirements()
    if missing:
        skip_or_fail("nodes need " + ", ".join(missing))
    r = _instance.api.post(NODES, token=_instance.user.token, timeout=SLOW,
                           json={"name": "probe", "memory_mb": 128, "storage_size": "64M"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def node(box, _node):
    return _node


def run(inst, code, timeout_ms=None):
    """A lambda run; 429 (all slots busy) is retried. Returns the answer's JSON."""
    body = {"Code": code, "Runtime": "python3"}
    if timeout_ms is not None:
        body["TimeoutMs"] = timeout_ms
    deadline = time.monotonic() + 120
    while True:
        r = inst.api.post(RUN, token=inst.user.token, json=body, timeout=120)
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    return r.json()


def run_json(inst, code, argv=()):
    """Runs `code` (with sys.argv[1:] = argv) in a lambda; its last stdout line, parsed."""
    wrapped = f"import sys\nsys.argv[1:] = {list(argv)!r}\n" + code
    out = run(inst, wrapped)
    assert out["exit_code"] == 0, out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def execute(inst, argv, timeout_ms=None):
    body = {"command": argv}
    if timeout_ms is not None:
        body["timeout_ms"] = timeout_ms
    r = inst.api.post(f"{NODES}/probe/exec", token=inst.user.token, json=body, timeout=SLOW)
    assert r.status_code == 200, r.text
    return r.json()


def exec_json(inst, code, argv=()):
    out = execute(inst, ["python3", "-c", code, *argv])
    assert out["exit_code"] == 0, out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def assert_names_no_host_path(inst, text):
    """Neither the data dir, nor the build tree nexusd and its init come from,
    nor the e2e temp dirs' prefix."""
    for path in (inst.data_dir, os.path.realpath(inst.data_dir),
                 os.path.abspath(os.environ.get("NEXUS_BUILD_DIR", "/nonexistent")),
                 "nexus-e2e-"):
        assert path not in text, f"{path!r} shows up:\n{text}"


# ---------------------------------------------------------------- lambda: sockets


def test_a_lambda_opens_no_socket_outside_unix_inet_and_inet6(box):
    families = dict(DENIED_FAMILIES)
    families.update(dict([NETLINK_ROUTE, NETLINK_UEVENT, NETLINK_AUDIT]))
    got = run_json(box, FAMILY_PROBE, [json.dumps(families)])
    # Refused as a kernel without them refuses, so programs fall back.
    wrong = {k: v for k, v in got.items() if v != "EAFNOSUPPORT"}
    assert wrong == {}, wrong


def test_a_lambda_still_does_everyday_networking_in_its_three_families(box):
    assert run_json(box, ALLOWED_PROBE) == ALLOWED_ANSWER


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the probes are x86-64 machine code")
def test_a_lambda_gets_no_socket_through_a_32_bit_abi(box):
    # Each probe in a child of its own: a kill by the filter ends only it.
    got = run_json(box, textwrap.dedent(f"""
        import json, subprocess, sys
        res = {{}}
        for name, code in (("x32", {X32_PROBE!r}), ("int 0x80", {INT80_PROBE!r})):
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            res[name] = [p.returncode, p.stdout.strip()]
        print(json.dumps(res))
    """))
    # The sandbox's filter covers the native ABI only: an x32 syscall kills
    # the process. int 0x80 is killed the same way where the host has it.
    assert got["x32"] == [-signal.SIGSYS, ""], got
    assert got["int 0x80"][0] in (-signal.SIGSYS, -signal.SIGSEGV), got
    assert "fd" not in got["int 0x80"][1], got


# ---------------------------------------------------------------- lambda: host layout


def test_a_lambda_sees_no_host_path_in_its_mounts_or_elsewhere(box):
    instance = box.env["NEXUS_INSTANCE"]
    got = run_json(box, textwrap.dedent("""
        import json, os, socket
        res = {}
        for p in ("/proc/self/mountinfo", "/proc/self/mounts", "/proc/mounts",
                  "/proc/1/mountinfo", "/proc/self/cgroup", "/proc/self/environ",
                  "/proc/self/cmdline", "/proc/self/maps", "/etc/hosts", "/etc/passwd"):
            try:
                with open(p, errors="replace") as f:
                    res[p] = f.read().replace("\\0", "\\n")
            except OSError as e:
                res[p] = "unreadable: " + e.strerror
        for p in ("/proc/self/exe", "/proc/self/cwd", "/proc/1/exe", "/proc/1/cwd"):
            try:
                res[p] = os.readlink(p)
            except OSError as e:
                res[p] = "unreadable: " + e.strerror
        res["hostname"] = socket.gethostname()
        res["/"] = sorted(os.listdir("/"))
        print(json.dumps(res))
    """))
    everything = json.dumps(got, indent=1)
    assert_names_no_host_path(box, everything)
    assert got["hostname"] == "sandbox"
    assert got["/proc/self/environ"].split() == [
        "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"], got
    # Its own cgroups, seen through a cgroup namespace: no host cgroup path.
    for line in got["/proc/self/cgroup"].splitlines():
        assert line.endswith(":/"), line
    # The bind mounts' sources: the host's /usr, and the runtime directory
    # (/run/nexus-<instance>), whose path shows as seen from its own mount.
    roots = {}
    for line in got["/proc/self/mountinfo"].splitlines():
        fields = line.split()
        roots[fields[4]] = fields[3]
    assert set(roots) >= {"/", "/usr", "/etc", "/sandbox/init", "/proc", "/tmp"}, roots
    runtime = f"nexus-{instance}/lambda/"
    for point in ("/", "/etc", "/sandbox/init"):
        assert runtime in roots[point], (point, roots[point])
    assert roots["/usr"] == "/usr"


def _bundles_with_code(inst):
    pattern = os.path.join("/run", f"nexus-{inst.env['NEXUS_INSTANCE']}", "lambda",
                           f"{inst.env['NEXUS_INSTANCE']}-l-*", "rootfs", "sandbox", "main.py")
    return glob.glob(pattern)


def _read_as(uid, path):
    """Tries to read `path` as uid:gid `uid` (no supplementary groups); returns
    what happened: "read" or the error's name."""
    def become():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    p = subprocess.run(
        [sys.executable, "-c",
         "import sys\ntry:\n    open(sys.argv[1]).read()\n    print('read')\n"
         "except OSError as e:\n    print(type(e).__name__)", path],
        preexec_fn=become, capture_output=True, text=True, timeout=30)
    return p.stdout.strip() or p.stderr.strip()


def test_a_running_snippets_code_is_no_other_local_users_to_read(box):
    secret = "secret-" + os.urandom(8).hex()
    code = f"import time\nSECRET = {secret!r}\ntime.sleep(6)\nprint('done')"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(run, box, code, 20000)
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline and not running.done():
            for path in _bundles_with_code(box):
                try:
                    if secret in open(path).read():
                        found = path
                except OSError:
                    pass
            time.sleep(0.05)
        assert found, "no bundle under /run/nexus-<instance>/lambda held the code"
        sandbox_dir = os.path.dirname(found)
        bundle = os.path.dirname(os.path.dirname(sandbox_dir))
        modes = {p: os.lstat(p) for p in (os.path.dirname(os.path.dirname(bundle)),
                                           os.path.dirname(bundle), bundle, sandbox_dir, found)}
        # Another local user, and the host's own user of the sandbox's uid
        # (nobody), both fail to read it.
        attempts = {uid: _read_as(uid, found) for uid in (12345, SANDBOX_UID)}
        out = running.result(timeout=60)
    assert out["stdout"] == "done\n", out
    runtime_dir, lambda_dir = os.path.dirname(os.path.dirname(bundle)), os.path.dirname(bundle)
    for path in (runtime_dir, lambda_dir, bundle):
        st = modes[path]
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, 0), (path, oct(st.st_mode))
    st = modes[sandbox_dir]
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, SANDBOX_UID), oct(st.st_mode)
    st = modes[found]
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o400, SANDBOX_UID), oct(st.st_mode)
    assert attempts == {12345: "PermissionError", SANDBOX_UID: "PermissionError"}, attempts
    # Its bundle is gone with the run.
    deadline = time.monotonic() + 10
    while os.path.exists(bundle) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(bundle)


# ---------------------------------------------------------------- nodes


def test_a_node_opens_no_socket_outside_unix_inet_inet6_and_route_netlink(node, box):
    families = dict(DENIED_FAMILIES)
    families.update(dict([NETLINK_ROUTE, NETLINK_UEVENT, NETLINK_AUDIT]))
    got = exec_json(box, FAMILY_PROBE, [json.dumps(families)])
    # socketpair is an AF_UNIX thing; for netlink the kernel says so itself.
    assert got.pop(NETLINK_ROUTE[0]) == "ok", got
    assert got.pop("pair " + NETLINK_ROUTE[0]) in ("EOPNOTSUPP", "ENOTSUP"), got
    # NETLINK_KOBJECT_UEVENT would show the node the host's device events.
    for name in (NETLINK_UEVENT[0], NETLINK_AUDIT[0]):
        assert got.pop(name) == "EPROTONOSUPPORT", (name, got)
        assert got.pop("pair " + name) == "EPROTONOSUPPORT", (name, got)
    wrong = {k: v for k, v in got.items() if v != "EAFNOSUPPORT"}
    assert wrong == {}, wrong


def test_a_node_still_does_everyday_networking_and_sees_its_own_interfaces(node, box):
    assert exec_json(box, ALLOWED_PROBE) == ALLOWED_ANSWER
    ip = execute(box, ["ip", "-o", "-4", "addr", "show"])
    assert ip["exit_code"] == 0, ip
    assert f" {node['ip']}/" in ip["stdout"], ip
    ss = execute(box, ["ss", "-tln"])
    assert ss["exit_code"] == 0, ss


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the probes are x86-64 machine code")
def test_a_node_gets_no_socket_through_a_32_bit_abi(node, box):
    # The node's profile covers the native ABI only (it listed x86-32 and x32
    # too, where libseccomp cannot check a family): another ABI's syscall
    # kills the process, whether or not the kernel has that ABI.
    out = execute(box, ["python3", "-c", X32_PROBE])
    assert out["exit_code"] == 128 + signal.SIGSYS, out
    out = execute(box, ["python3", "-c", INT80_PROBE])
    assert out["exit_code"] in (128 + signal.SIGSYS, 128 + signal.SIGSEGV), out
    assert "fd" not in out["stdout"], out


def test_a_node_sees_no_path_of_the_data_dir(node, box):
    out = execute(box, ["sh", "-c",
                        "cat /proc/self/mountinfo /proc/self/mounts /proc/self/cgroup; "
                        "cat /sys/block/*/loop/backing_file /sys/class/block/*/loop/backing_file "
                        "/sys/devices/virtual/block/*/loop/backing_file 2>&1; "
                        "ls -l /sys/block /sys/dev/block 2>&1; true"])
    assert out["exit_code"] == 0, out
    assert_names_no_host_path(box, out["stdout"] + out["stderr"])
    assert "disk.img" not in out["stdout"], out["stdout"]


# ---------------------------------------------------------------- the runtime directory


def test_a_runtime_dir_on_a_noexec_tmpfs_runs_lambdas_and_goes_at_shutdown(nexus_factory):
    """/run is a noexec tmpfs on Debian: the init, copied there and bind-mounted
    into each sandbox, must still start, and the sandbox's mounts then show
    paths relative to that tmpfs."""
    if os.geteuid() != 0 or runc_path() is None:
        skip_or_fail("lambda needs root and runc")
    inst = nexus_factory(name="noexecrun", start=False)
    mount_point = f"/tmp/nexus-run-{inst.env['NEXUS_INSTANCE']}"
    os.mkdir(mount_point)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,nosuid,nodev,size=64m,mode=755",
                        "tmpfs", mount_point], check=True, timeout=30)
        runtime_dir = os.path.join(mount_point, "rt")
        inst.env["NEXUS_RUNTIME_DIR"] = runtime_dir
        inst.start()
        inst.user = new_user("noexec")
        register(inst, inst.user)
        got = run(inst, "print(open('/proc/self/mountinfo').read())")
        assert got["exit_code"] == 0, got
        init = [line for line in got["stdout"].splitlines() if " /sandbox/init " in line]
        assert len(init) == 1 and init[0].split()[3] == "/rt/lambda/init", got["stdout"]
        assert stat.S_IMODE(os.stat(runtime_dir).st_mode) == 0o700
        inst.stop()
        assert os.listdir(mount_point) == [], "the runtime directory outlived nexusd"
    finally:
        inst.stop()
        subprocess.run(["umount", mount_point], timeout=30)
        os.rmdir(mount_point)
