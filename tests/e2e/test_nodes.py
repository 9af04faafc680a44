"""Nodes (/api/nodes...) and their metrics through the public API, on real
runc, CNI bridge + host-local and loop-mounted ext4 volumes: the contract's
create, limits seen from inside a node, addresses and traffic between two
nodes, the disk size, metrics, stop/start, a daemon restart, ownership,
request checks — and that a deleted node leaves nothing on the host.

Needs root, runc, the CNI plugins and the disk tools: skipped without them,
failed without them under CI=true. One private instance serves the module,
on a random subnet 10.241.<n>.0/24 (never the default 10.0.42.0/24, so a
running instance on this host cannot collide with it) and a 1 s metrics
interval. At the end every node is deleted through the API and whatever
might be left (containers, namespaces, mounts, loop devices, cgroups, the
bridge) is removed, even after a failure.
"""

import concurrent.futures
import ipaddress
import socket
import time

import pytest

import backends
from harness import assert_json_error, wait_until
from nodes_host import (MiB, NODES, SLOW, cgroup_v2, create, delete_all_nodes, execute, ip_at,
                        start_nodes_instance)


@pytest.fixture(scope="module")
def _nodes_instance(module_nexus_factory):
    inst = start_nodes_instance(module_nexus_factory, "nodes", env={
        "NEXUS_NODES_METRICS_INTERVAL_SECONDS": "1",
        "NEXUS_NODES_STOP_TIMEOUT_MS": "3000",
    })
    try:
        yield inst
    finally:
        # Runs before the factory stops the instance and removes its data dir.
        delete_all_nodes(inst, (inst.alice, inst.bob))


@pytest.fixture
def nx(_nodes_instance, attach_logs):
    attach_logs(_nodes_instance)
    dead = {n: p.returncode for n, p in _nodes_instance.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"nodes instance services exited: {dead}", pytrace=False)
    return _nodes_instance


def metrics(inst, user, node, history=False):
    path = f"{NODES}/{node}/metrics" + ("?history=1" if history else "")
    r = inst.api.get(path, token=user.token)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- create, list, get


def test_create_answers_201_with_the_first_address_of_the_subnet(nx):
    node = create(nx, nx.alice,
                  {"name": "worker1", "memory_mb": 256, "cpu_shares": 512, "storage_size": "1G"})
    assert node["id"] == "worker1"
    assert node["ip"] == ip_at(nx, 2)
    assert ipaddress.ip_address(node["ip"]) in nx.subnet
    assert node["status"] == "Running"
    assert node["memory_mb"] == 256
    assert node["cpu_shares"] == 512
    assert node["storage_size"] == "1G"
    assert abs(node["created_at"] - time.time()) < 120
    # Its row is where the storage metadata is: nexus.db on the embedded
    # defaults, the PostgreSQL database with NEXUS_E2E_BACKENDS=postgres+s3
    # (backends.py); under this host's name.
    query = "SELECT host FROM nodes WHERE name = 'worker1'"
    assert backends.metadata_value(nx, query) == socket.gethostname()


def test_list_and_get_show_the_callers_nodes(nx):
    r = nx.api.get(NODES, token=nx.alice.token)
    assert r.status_code == 200, r.text
    assert [n["id"] for n in r.json()] == ["worker1"]
    r = nx.api.get(f"{NODES}/worker1", token=nx.alice.token)
    assert r.status_code == 200, r.text
    assert r.json()["ip"] == ip_at(nx, 2)
    assert r.json()["status"] == "Running"
    r = nx.api.get(NODES, token=nx.bob.token)
    assert r.status_code == 200 and r.json() == [], r.text


def test_the_node_sees_its_memory_limit_and_its_own_address(nx):
    limit_file = ("/sys/fs/cgroup/memory.max" if cgroup_v2()
                  else "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    out = execute(nx, nx.alice, "worker1", ["cat", limit_file])
    assert out["exit_code"] == 0, out
    assert out["stdout"].strip() == str(256 * MiB)
    fib = execute(nx, nx.alice, "worker1", ["cat", "/proc/net/fib_trie"])
    assert ip_at(nx, 2) in fib["stdout"]


def test_exec_reports_exit_codes_and_timeouts(nx):
    out = execute(nx, nx.alice, "worker1", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (out["stdout"], out["stderr"], out["exit_code"]) == ("out\n", "err\n", 3)
    assert out["timed_out"] is False
    start = time.monotonic()
    slow = execute(nx, nx.alice, "worker1", ["sleep", "30"], timeout_ms=500)
    assert slow["timed_out"] is True and slow["exit_code"] == 137, slow
    assert time.monotonic() - start < 10
    missing = execute(nx, nx.alice, "worker1", ["no-such-command"])
    assert missing["exit_code"] == 127, missing


# ---------------------------------------------------------------- network and disk


def test_a_second_node_gets_the_next_address_and_the_two_talk_over_tcp(nx):
    node = create(nx, nx.alice,
                  {"name": "worker2", "memory_mb": 64, "cpu_shares": 256, "storage_size": "64M"})
    assert node["ip"] == ip_at(nx, 3)
    server_ip = ip_at(nx, 3)
    listener = (
        "import socket\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('0.0.0.0', 7777))\n"
        "s.listen(1)\n"
        "s.settimeout(20)\n"
        "c, peer = s.accept()\n"
        "print(peer[0], c.recv(100).decode())\n")
    client = (
        "import socket, time\n"
        "for i in range(300):\n"
        "    try:\n"
        f"        c = socket.create_connection(('{server_ip}', 7777), timeout=1)\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n"
        "c.sendall(b'hello-from-worker1')\n")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        served = pool.submit(execute, nx, nx.alice, "worker2", ["/usr/bin/python3", "-c", listener])
        sent = execute(nx, nx.alice, "worker1", ["/usr/bin/python3", "-c", client])
        assert sent["exit_code"] == 0, sent
        got = served.result(timeout=SLOW)
    assert got["exit_code"] == 0, got
    assert got["stdout"] == f"{ip_at(nx, 2)} hello-from-worker1\n"


def test_writing_past_the_storage_size_fails_inside_the_node(nx):
    dd = execute(nx, nx.alice, "worker2",
                 ["dd", "if=/dev/zero", "of=/root/fill", "bs=1M", "count=200"], timeout_ms=60000)
    assert dd["exit_code"] != 0, dd
    assert "No space left on device" in dd["stderr"], dd
    execute(nx, nx.alice, "worker2", ["rm", "-f", "/root/fill"])


# ---------------------------------------------------------------- metrics


def test_metrics_show_the_limit_and_cpu_rising_while_the_node_burns_cpu(nx):
    time.sleep(1.5)  # more than one sampling interval since the node started
    m = metrics(nx, nx.alice, "worker1")
    assert set(m) == {"node_id", "memory_usage", "memory_limit", "cpu_percent"}, m
    assert m["node_id"] == "worker1"
    assert m["memory_limit"] == 256 * MiB
    assert 0 < m["memory_usage"] <= 256 * MiB
    idle = m["cpu_percent"]
    assert idle < 50, m

    # A busy loop uses about one CPU; on a host shared with builds the node
    # (512 shares) may get much less, so the bar is only "clearly busier".
    rising = max(15.0, idle + 10)
    burn = ["timeout", "5", "sh", "-c", "while :; do :; done"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        burning = pool.submit(execute, nx, nx.alice, "worker1", burn, 15000)
        busy = wait_until(
            lambda: (lambda c: c if c > rising else None)(
                metrics(nx, nx.alice, "worker1")["cpu_percent"]),
            timeout=8, what=f"cpu_percent rising above {rising:.0f} while a busy loop runs",
            interval=0.25)
        burning.result(timeout=SLOW)
    assert busy <= 210  # percent of one CPU

    h = metrics(nx, nx.alice, "worker1", history=True)
    assert len(h["history"]) >= 3, h
    for sample in h["history"]:
        assert set(sample) == {"timestamp_ms", "memory_usage", "cpu_percent"}, sample
    stamps = [s["timestamp_ms"] for s in h["history"]]
    assert stamps == sorted(stamps)
    assert abs(stamps[-1] / 1000 - time.time()) < 60
    assert max(s["cpu_percent"] for s in h["history"]) > rising


# ---------------------------------------------------------------- stop, start, restart


def test_stop_and_start_keep_the_address(nx):
    r = nx.api.post(f"{NODES}/worker2/stop", token=nx.alice.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Stopped"
    assert nx.api.get(f"{NODES}/worker2", token=nx.alice.token).json()["status"] == "Stopped"
    not_running = nx.api.post(f"{NODES}/worker2/exec", token=nx.alice.token,
                              json={"command": ["true"]}, timeout=SLOW)
    assert_json_error(not_running, 400)
    r = nx.api.post(f"{NODES}/worker2/start", token=nx.alice.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Running"
    assert r.json()["ip"] == ip_at(nx, 3)
    out = execute(nx, nx.alice, "worker2", ["cat", "/proc/net/fib_trie"])
    assert ip_at(nx, 3) in out["stdout"]


def _init_start_time(inst, node):
    """The start time of the node's pid 1 (field 22 of /proc/1/stat)."""
    stat = execute(inst, inst.alice, node, ["cat", "/proc/1/stat"])["stdout"]
    return stat.rsplit(")", 1)[1].split()[19]


def test_a_daemon_restart_keeps_nodes_running_with_their_address(nx):
    before = _init_start_time(nx, "worker1")
    nx.stop_service("nexusd")
    assert nx.host.containers(), "nodes run detached: stopping nexusd must not stop them"
    nx.start_service("nexusd")
    nx.wait_healthy()
    r = nx.api.get(f"{NODES}/worker1", token=nx.alice.token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Running"
    assert r.json()["ip"] == ip_at(nx, 2)
    assert _init_start_time(nx, "worker1") == before, "the node was restarted, not kept"
    assert metrics(nx, nx.alice, "worker1")["memory_limit"] == 256 * MiB


# ---------------------------------------------------------------- ownership and checks


def test_another_users_node_is_404_on_every_route(nx):
    routes = [
        ("GET", f"{NODES}/worker1", None),
        ("POST", f"{NODES}/worker1/stop", None),
        ("POST", f"{NODES}/worker1/start", None),
        ("DELETE", f"{NODES}/worker1", None),
        ("POST", f"{NODES}/worker1/exec", {"command": ["true"]}),
        ("GET", f"{NODES}/worker1/metrics", None),
    ]
    for method, path, body in routes:
        r = nx.api.request(method, path, token=nx.bob.token, json=body, timeout=SLOW)
        assert_json_error(r, 404)
    r = nx.api.get(f"{NODES}/worker1", token=nx.alice.token)
    assert r.status_code == 200 and r.json()["status"] == "Running", r.text


def test_bad_fields_are_400_naming_the_field(nx):
    good = {"name": "checked", "memory_mb": 64, "cpu_shares": 512, "storage_size": "64M"}
    cases = [
        ({"name": "Bad_Name"}, "name"),
        ({"memory_mb": 1}, "memory_mb"),
        ({"cpu_shares": 1}, "cpu_shares"),
        ({"storage_size": "10X"}, "storage_size"),
        ({"memory_mb": "lots"}, "memory_mb"),
    ]
    for change, field in cases:
        r = nx.api.post(NODES, token=nx.alice.token, json={**good, **change}, timeout=SLOW)
        body = assert_json_error(r, 400)
        assert field in body["error"], (change, body)
    dup = nx.api.post(NODES, token=nx.alice.token, json={**good, "name": "worker1"}, timeout=SLOW)
    assert_json_error(dup, 409)
    names = [n["id"] for n in nx.api.get(NODES, token=nx.alice.token).json()]
    assert names == ["worker1", "worker2"]


def test_the_same_name_is_free_for_another_user(nx):
    node = create(nx, nx.bob, {"name": "worker1", "memory_mb": 64, "storage_size": "64M"})
    assert node["ip"] == ip_at(nx, 4)
    r = nx.api.get(f"{NODES}/worker1", token=nx.alice.token)
    assert r.json()["ip"] == ip_at(nx, 2)


# ---------------------------------------------------------------- delete


def test_delete_leaves_nothing_on_the_host(nx):
    host = nx.host
    nodes = {u.username: [n["id"] for n in nx.api.get(NODES, token=u.token).json()]
             for u in (nx.alice, nx.bob)}
    total = sum(len(v) for v in nodes.values())
    assert total == 3, nodes
    # What the check below looks for is really there while the nodes live.
    assert len(host.netns()) == total
    assert len(host.veths()) == total
    assert len(host.node_dirs()) == total
    assert len(host.loops()) == total
    assert len(host.cgroups()) >= total
    for user in (nx.alice, nx.bob):
        for node in nodes[user.username]:
            r = nx.api.request("DELETE", f"{NODES}/{node}", token=user.token, timeout=SLOW)
            assert r.status_code == 200, r.text
            assert r.json() == {"message": "Node deleted", "id": node}
            assert_json_error(nx.api.get(f"{NODES}/{node}", token=user.token), 404)
    assert host.leftovers() == {}
    assert nx.api.get(NODES, token=nx.alice.token).json() == []
