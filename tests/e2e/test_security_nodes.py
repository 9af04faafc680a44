"""Nodes attacked as a tenant would, through the public API, on real runc and
CNI: another user's nodes and the host's own services are out of reach (and
stay so across a daemon restart, a crash with the rules gone, and a node
stop/start), per-user limits on count, memory and disk hold even against
concurrent creates, the host's disk is never promised twice, node names
refuse bidi controls, and node files are closed to other local users.

Needs root, runc, the CNI plugins, the disk tools and nft: skipped without
them, failed without them under CI=true. Each module instance has its own
instance name (in every netns, bridge and nftables table) and a random
10.241.<n>.0/24 subnet; fixtures delete every node through the API and then
remove whatever might be left, pass or fail. Traffic goes only between the
test's nodes and a server the test binds to its own bridge address.
"""

import concurrent.futures
import os
import signal
import socket
import stat
import subprocess
import tempfile
import threading

import pytest

from harness import (assert_json_error, free_port, new_user, register, skip_or_fail,
                     wait_until)
from nodes_host import (MiB, NODES, SLOW, create, delete_all_nodes, execute, host, ip_at,
                        start_nodes_instance, tool)

HTTP_PORT = 8000
NOBODY = 65534

# Run inside a node: fetch a URL; exit 0 and "reached" when it answered.
FETCH = """
import sys, urllib.request
try:
    body = urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()
    print("reached", len(body))
except Exception as e:
    print("blocked", type(e).__name__, e)
    sys.exit(1)
"""

# Run inside a node: open a TCP connection and send a line.
CONNECT = """
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    c.sendall(b"from-node\\n")
    c.close()
    print("connected")
except OSError as e:
    print("blocked", e)
    sys.exit(1)
"""


def small(name, memory_mb=32, storage="64M"):
    return {"name": name, "memory_mb": memory_mb, "cpu_shares": 256, "storage_size": storage}


def node_ip(inst, user, name):
    r = inst.api.get(f"{NODES}/{name}", token=user.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    return r.json()["ip"]


def fetch_from(inst, user, node, url, timeout_s=3):
    """(reached, output) of an HTTP GET of `url` made inside `node`."""
    out = execute(inst, user, node, ["/usr/bin/python3", "-c", FETCH, url, str(timeout_s)],
                  timeout_ms=(timeout_s + 20) * 1000)
    return out["exit_code"] == 0, out["stdout"] + out["stderr"]


def connect_from(inst, user, node, ip, port, timeout_s=3):
    out = execute(inst, user, node,
                  ["/usr/bin/python3", "-c", CONNECT, ip, str(port), str(timeout_s)],
                  timeout_ms=(timeout_s + 20) * 1000)
    return out["exit_code"] == 0, out["stdout"] + out["stderr"]


def serve_http(inst, user, node):
    """Starts `python3 -m http.server` in `node` (detached from the exec) and
    waits until the host reaches it, which also proves the host still opens
    connections to nodes through the rules."""
    script = (f"cd /tmp && nohup /usr/bin/python3 -m http.server {HTTP_PORT} --bind 0.0.0.0 "
              "</dev/null >/dev/null 2>&1 &")
    out = execute(inst, user, node, ["sh", "-c", script])
    assert out["exit_code"] == 0, out
    ip = node_ip(inst, user, node)

    def host_reaches():
        try:
            with socket.create_connection((ip, HTTP_PORT), 1) as c:
                c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return c.recv(12).startswith(b"HTTP/1.0 200")
        except OSError:
            return False

    wait_until(host_reaches, timeout=20, what=f"the host reaching the HTTP server in {node}",
               interval=0.2)
    return f"http://{ip}:{HTTP_PORT}/"


class HostServer:
    """A TCP server of the test bound only to the bridge's address, so that
    nothing but the instance's nodes could reach it; records who connected."""

    def __init__(self, ip, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.peers.append(peer[0])
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def tables_of(inst):
    return sorted(inst.host.nft_tables())


def instance_tables(inst):
    name = "nexus-" + inst.host.instance
    return [f"bridge {name}", f"inet {name}"]


# ================================================================ isolation


@pytest.fixture(scope="module")
def _isolated(module_nexus_factory):
    allowed_port = free_port()
    inst = start_nodes_instance(module_nexus_factory, "isolation", env={
        "NEXUS_NETWORK_HOST_PORTS": str(allowed_port),
        "NEXUS_NODES_STOP_TIMEOUT_MS": "3000",
    })
    inst.allowed_port = allowed_port
    try:
        yield inst
    finally:
        delete_all_nodes(inst, (inst.alice, inst.bob))


@pytest.fixture
def iso(_isolated, attach_logs):
    attach_logs(_isolated)
    dead = {n: p.returncode for n, p in _isolated.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"isolation instance services exited: {dead}", pytrace=False)
    return _isolated


def expect_isolated(inst, url):
    """Bob's second node fetches `url` (Bob's server); Alice's node cannot."""
    reached, out = fetch_from(inst, inst.bob, "peer", url)
    assert reached, f"bob's own node must reach bob's server: {out}"
    for _ in range(2):
        reached, out = fetch_from(inst, inst.alice, "probe", url)
        assert not reached, f"alice's node reached bob's server: {out}"


def test_another_users_node_cannot_reach_a_server_in_bobs_node(iso):
    create(iso, iso.bob, small("web"))
    create(iso, iso.bob, small("peer"))
    create(iso, iso.alice, small("probe"))
    iso.web_url = serve_http(iso, iso.bob, "web")
    expect_isolated(iso, iso.web_url)
    assert tables_of(iso) == instance_tables(iso)


def test_a_node_cannot_reach_a_host_service_on_the_bridge_address(iso):
    bridge_ip = ip_at(iso, 1)
    blocked = HostServer(bridge_ip)
    allowed = HostServer(bridge_ip, iso.allowed_port)
    try:
        ok, out = connect_from(iso, iso.alice, "probe", bridge_ip, blocked.port)
        assert not ok, f"a node connected to a host service it was not allowed: {out}"
        ok, out = connect_from(iso, iso.bob, "web", bridge_ip, blocked.port)
        assert not ok, out
        # The configured port is open, so the refusal above is the rules' doing.
        ok, out = connect_from(iso, iso.alice, "probe", bridge_ip, iso.allowed_port)
        assert ok, f"network.host_ports lists {iso.allowed_port}: {out}"
    finally:
        blocked.close()
        allowed.close()
    assert blocked.peers == []
    assert allowed.peers == [node_ip(iso, iso.alice, "probe")]


def test_the_rules_survive_a_daemon_restart(iso):
    iso.stop_service("nexusd")
    iso.start_service("nexusd")
    iso.wait_healthy(timeout=30)
    assert tables_of(iso) == instance_tables(iso)
    expect_isolated(iso, iso.web_url)


def test_a_daemon_that_starts_after_the_rules_were_lost_rebuilds_them(iso):
    # As after a reboot or `nft flush ruleset` while nexusd was down.
    for table in tables_of(iso):
        host(tool("nft"), "delete", "table", *table.split(), check=True)
    reached, out = fetch_from(iso, iso.alice, "probe", iso.web_url)
    assert reached, f"without the rules the nodes share one bridge: {out}"
    iso.stop_service("nexusd", sig=signal.SIGKILL)
    iso.start_service("nexusd")
    iso.wait_healthy(timeout=30)
    assert tables_of(iso) == instance_tables(iso)
    expect_isolated(iso, iso.web_url)


def test_a_stopped_and_started_node_is_still_isolated(iso):
    for user, name in ((iso.bob, "web"), (iso.alice, "probe")):
        r = iso.api.post(f"{NODES}/{name}/stop", token=user.token, timeout=SLOW)
        assert r.status_code == 200 and r.json()["status"] == "Stopped", r.text
        r = iso.api.post(f"{NODES}/{name}/start", token=user.token, timeout=SLOW)
        assert r.status_code == 200 and r.json()["status"] == "Running", r.text
    iso.web_url = serve_http(iso, iso.bob, "web")
    expect_isolated(iso, iso.web_url)


def test_node_files_are_closed_to_other_local_users(iso):
    nodes_dir = os.path.join(iso.data_dir, "nodes")
    for path in [nodes_dir] + [os.path.join(nodes_dir, d) for d in os.listdir(nodes_dir)]:
        if os.path.isdir(path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o700, path
    uids = iso.host.node_dirs()
    assert len(uids) == 3
    for uid in uids:
        d = os.path.join(nodes_dir, "by-uid", uid)
        modes = {p: stat.S_IMODE(os.stat(os.path.join(d, p)).st_mode)
                 for p in ("", "bundle", "bundle/config.json", "disk.img")}
        assert modes == {"": 0o700, "bundle": 0o700, "bundle/config.json": 0o600,
                         "disk.img": 0o600}, (uid, modes)
    # Whatever the data dir's own mode, another user reads nothing of the nodes.
    # (The data dir is a private temp dir; open it for the length of the check.)
    data_mode = stat.S_IMODE(os.stat(iso.data_dir).st_mode)
    os.chmod(iso.data_dir, 0o755)
    try:
        probe = (
            "import os, sys\n"
            "root = sys.argv[1]\n"
            "opened = []\n"
            "for path in sys.argv[2:]:\n"
            "    try:\n"
            "        if os.path.isdir(path):\n"
            "            os.listdir(path)\n"
            "        else:\n"
            "            open(path, 'rb').close()\n"
            "        opened.append(path)\n"
            "    except OSError:\n"
            "        pass\n"
            "print('\\n'.join(opened))\n")
        targets = [nodes_dir, os.path.join(nodes_dir, "by-uid")]
        for uid in uids:
            d = os.path.join(nodes_dir, "by-uid", uid)
            targets += [d, os.path.join(d, "disk.img"), os.path.join(d, "bundle", "config.json")]
        for sub in ("ipam", "runc"):
            if os.path.isdir(os.path.join(nodes_dir, sub)):
                targets.append(os.path.join(nodes_dir, sub))
        p = subprocess.run(["/usr/bin/python3", "-c", probe, nodes_dir, *targets],
                           user=NOBODY, group=NOBODY, extra_groups=[], cwd="/",
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "", f"another user opened: {p.stdout}"
    finally:
        os.chmod(iso.data_dir, data_mode)


def test_the_rules_go_with_the_last_node(iso):
    for user in (iso.alice, iso.bob):
        for node in iso.api.get(NODES, token=user.token).json():
            r = iso.api.request("DELETE", f"{NODES}/{node['id']}", token=user.token,
                                timeout=SLOW)
            assert r.status_code == 200, r.text
    assert iso.host.leftovers() == {}


# ================================================================ limits and names


@pytest.fixture(scope="module")
def _limited(module_nexus_factory):
    inst = start_nodes_instance(module_nexus_factory, "limits", env={
        "NEXUS_NODES_USER_MAX_NODES": "2",
        "NEXUS_NODES_USER_MAX_MEMORY_MB": "160",
        "NEXUS_NODES_USER_MAX_STORAGE_BYTES": str(200 * MiB),
        # Room for every create of the concurrent test at once: it is about
        # the node count, which the share of changes (429) must not hide.
        "NEXUS_NODES_MAX_CONCURRENT_CHANGES_PER_USER": "8",
    })
    inst.carol = new_user("nodec")
    register(inst, inst.carol)
    try:
        yield inst
    finally:
        delete_all_nodes(inst, (inst.alice, inst.bob, inst.carol))


@pytest.fixture
def lim(_limited, attach_logs):
    attach_logs(_limited)
    dead = {n: p.returncode for n, p in _limited.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"limits instance services exited: {dead}", pytrace=False)
    return _limited


def names(inst, user):
    r = inst.api.get(NODES, token=user.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    return sorted(n["id"] for n in r.json())


def test_a_user_cannot_create_more_nodes_than_the_limit(lim):
    create(lim, lim.alice, small("a1"))
    create(lim, lim.alice, small("a2"))
    held = lim.host.leftovers()
    body = assert_json_error(
        lim.api.post(NODES, token=lim.alice.token, json=small("a3"), timeout=SLOW), 403)
    assert "2 nodes" in body["error"], body
    assert names(lim, lim.alice) == ["a1", "a2"]
    assert lim.host.leftovers() == held, "a refused create left something behind"
    # Another user is not affected by alice's count.
    create(lim, lim.bob, small("b1", memory_mb=128))


def test_a_users_nodes_cannot_exceed_the_memory_and_disk_limits(lim):
    # bob holds 128 MB of 160.
    body = assert_json_error(
        lim.api.post(NODES, token=lim.bob.token, json=small("b2", memory_mb=64), timeout=SLOW),
        403)
    assert "memory" in body["error"], body
    # bob holds 64 MiB of disk of 200 MiB.
    body = assert_json_error(
        lim.api.post(NODES, token=lim.bob.token, json=small("b2", memory_mb=16, storage="160M"),
                     timeout=SLOW), 403)
    assert "storage" in body["error"], body
    assert names(lim, lim.bob) == ["b1"]
    create(lim, lim.bob, small("b2", memory_mb=32, storage="128M"))


def test_deleting_a_node_makes_room_again(lim):
    r = lim.api.request("DELETE", f"{NODES}/a2", token=lim.alice.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    create(lim, lim.alice, small("a3"))
    assert names(lim, lim.alice) == ["a1", "a3"]


def test_concurrent_creates_cannot_pass_the_limit_together(lim):
    bodies = [small(f"c{i}") for i in range(6)]
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(
            lambda b: lim.api.post(NODES, token=lim.carol.token, json=b, timeout=SLOW * 3),
            bodies))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 201, 403, 403, 403, 403], [(r.status_code, r.text) for r in answers]
    for r in answers:
        if r.status_code == 403:
            assert_json_error(r, 403)
    assert len(names(lim, lim.carol)) == 2
    assert len(lim.host.node_dirs()) == 2 + 2 + 2  # alice, bob, carol


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def test_node_names_with_bidi_controls_are_refused(lim):
    before = lim.host.node_dirs()
    for ch in BIDI:
        for name in (f"evil{ch}gpj.exe", f"{ch}x", f"x{ch}"):
            r = lim.api.post(NODES, token=lim.carol.token, json=small(name), timeout=SLOW)
            body = assert_json_error(r, 400)
            assert "name" in body["error"], body
    assert lim.host.node_dirs() == before


# ================================================================ the host's disk


def test_the_hosts_disk_is_not_promised_twice(module_nexus_factory, attach_logs):
    # Room for one 1 GiB disk, not two: the reserve leaves 1.5 GiB of today's
    # free space to nodes (more than the few MiB a new node writes at once).
    probe = os.statvfs(tempfile.gettempdir())  # where the instance's data dir goes
    free = probe.f_bavail * probe.f_frsize
    if free < 4 << 30:
        skip_or_fail(f"needs 4 GiB free for data dirs, has {free >> 20} MiB")
    reserve = free - (1536 << 20)
    inst = start_nodes_instance(module_nexus_factory, "disk", env={
        "NEXUS_NODES_DISK_RESERVE_BYTES": str(reserve),
    })
    attach_logs(inst)
    try:
        create(inst, inst.alice, small("big", storage="1G"))
        # bob's node would fit his own limits, but not beside alice's disk.
        r = inst.api.post(NODES, token=inst.bob.token, json=small("big", storage="1G"),
                          timeout=SLOW)
        body = assert_json_error(r, 507)
        assert inst.data_dir not in body["error"] and "/" not in body["error"], body
        assert names(inst, inst.bob) == []
        assert len(inst.host.node_dirs()) == 1
        create(inst, inst.bob, small("small", storage="64M"))
    finally:
        delete_all_nodes(inst, (inst.alice, inst.bob))
