"""Two hosts, one Nexus: two nexusd and two nexus-api, each pair in a
network namespace of its own on a test bridge (10.243.<n>.2 and .3, never
any outside address), sharing one PostgreSQL database and one S3 bucket.
Each gateway knows both daemons over TCP with mutual TLS (a throw-away CA
made here); one nexus-auth in the root namespace serves both over its unix
socket.

What is uploaded through one host's gateway downloads byte for byte through
the other's. A new node goes to the host with the most free memory (each
daemon is given a memory reserve that leaves it a known room), so the two
nodes made here land one on each host; either gateway then lists them and
runs exec, stop and start on the host that holds the node. A node no host
has room for is refused and recorded nowhere. The daemon port admits only a
client with a certificate of the CA, and a daemon will not listen on TCP
without its TLS files. With host A's daemon killed, files still download
through both gateways, A's node shows Unknown and B's Running, and a call
that needs A's daemon gets a prompt 503.

The module runs on a PostgreSQL cluster and chunk store of its own even with
NEXUS_E2E_BACKENDS=postgres+s3: the store's S3 API must listen on the bridge
address, where the daemons in the namespaces reach it. Needs root, ip,
nsenter, openssl, PostgreSQL and what nodes need; the bridge, the veths and
the namespaces, with every process in them, are removed at the end, pass or
fail."""

import contextlib
import hashlib
import ipaddress
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import types

import pytest

import backends
from fs_routes import MiB, get, ls_ok, names, put_ok
from harness import (Instance, assert_json_error, instance_name, registered_user, skip_or_fail,
                     unique, wait_until)
from multi_host import (DAEMON_PORT, GATEWAY_PORT, Host, HostNet, make_certs, speaks_grpc_tls,
                        start_in_netns)
from nodes_host import (IP_FORWARD, NODES, SLOW, HostView, create, execute,
                        missing_requirements, tool)

# Each daemon says it is alive every second; three silent seconds make its
# nodes Unknown to the others.
BEAT = {"NEXUS_NODES_METRICS_INTERVAL_SECONDS": "1"}

NODE_MB = 256
# Memory each host keeps for nodes (its reserve is the rest of the
# machine's): A a little more than B, so the first node goes to A and the
# second, with A's room less one node, to B.
ROOM_MB = {"a": 1000, "b": 900}
# More than either host has left, within the per-node and per-user limits.
TOO_BIG_MB = 2048


def _missing():
    missing = [] if os.geteuid() == 0 else ["root"]
    missing += [name for name in ("ip", "nsenter", "openssl", "psql") if tool(name) is None]
    if not os.path.exists("/usr/lib/postgresql"):
        missing.append("postgresql (scripts/install-deps.sh)")
    return missing + [m for m in missing_requirements() if m not in missing]


def _memory_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _node_subnets():
    """Two distinct random subnets 10.241.<n>.0/24 for the hosts' nodes."""
    first, second = random.sample(range(256), 2)
    return {"a": f"10.241.{first}.0/24", "b": f"10.241.{second}.0/24"}


def _restore(path, text):
    with open(path) as f:
        if f.read() == text:
            return
    with open(path, "w") as f:
        f.write(text)


def _chunk_store(a, net, env):
    """The chunk store's Nexus, on the embedded back-ends, its S3 API on the
    bridge address."""
    port = net.free_port()
    store = Instance(a.build_dir, a.sink, name="mhstore", embedded=True,
                     env=dict(env, NEXUS_S3_LISTEN=f"{net.bridge_ip}:{port}"))
    store.s3_port = port
    try:
        return store.start()
    except BaseException:
        store.stop()
        store.cleanup()
        raise


def _stop_backends(a, own):
    # A's services go before the cluster and the store (the factory would
    # stop A only after this module's teardown).
    a.stop()
    own.stop()


def _stop_hosts(hosts):
    for h in hosts:
        h.stop_all()
    for h in hosts:
        HostView(h).force_clean()


def _delete_nodes(hosts, user):
    """Every node of `user`, deleted through whichever gateway answers; best
    effort (what is left goes with force_clean)."""
    for h in hosts:
        try:
            r = h.api.get(NODES, token=user.token, timeout=SLOW)
            for node in (r.json() if r.status_code == 200 else []):
                h.api.request("DELETE", f"{NODES}/{node['id']}", token=user.token, timeout=SLOW)
        except Exception:  # noqa: BLE001 - teardown is best effort; force_clean follows
            pass


@pytest.fixture(scope="module")
def hosts(module_nexus_factory):
    """Hosts A and B, each running its nexusd and nexus-api in its namespace,
    A's nexus-auth beside them, and a user registered through gateway A."""
    missing = _missing()
    if missing:
        skip_or_fail("two hosts need " + ", ".join(missing))
    memory = _memory_mib()
    if memory < 2 * max(ROOM_MB.values()):
        skip_or_fail(f"two hosts need 2 GiB of memory, this machine has {memory} MiB")
    with open(IP_FORWARD) as f:
        ip_forward = f.read()
    net = HostNet(instance_name())
    with contextlib.ExitStack() as undo:
        undo.callback(_restore, IP_FORWARD, ip_forward)
        undo.callback(net.remove)
        net.create()
        tls_dir = tempfile.mkdtemp(prefix=f"nexus-e2e-{net.tag}-tls-")
        undo.callback(shutil.rmtree, tls_dir, True)
        certs = make_certs(tls_dir, {s.name: s.ip for s in net.sides.values()})

        # A: its nexus-auth here, its nexusd and nexus-api in namespace A.
        # Its own cluster and store whatever the session runs on (their
        # settings replace the session's).
        a = module_nexus_factory(name="multihost", start=False)
        own = backends.PostgresS3(lambda env: _chunk_store(a, net, env), skip_or_fail,
                                  s3_host=net.bridge_ip)
        undo.callback(_stop_backends, a, own)
        own.start()
        own.configure(a)
        a.start_service("nexus-auth")
        auth_socket = os.path.join(a.data_dir, "run", "auth.sock")

        def auth_up():
            if a.procs["nexus-auth"].poll() is not None:
                pytest.fail(f"nexus-auth exited during start-up\n{a.logs_text()}", pytrace=False)
            return os.path.exists(auth_socket)
        wait_until(auth_up, 20, "nexus-auth did not open its socket")

        # What both hosts' services share: the database and bucket (and
        # secret file) in a.env, the auth socket, both daemons' addresses
        # and the TLS files. Each host's own: its daemon's address,
        # certificate, host name, node subnet and memory reserve.
        subnets = _node_subnets()
        common = dict(a.env, **BEAT,
                      NEXUS_NODES_STOP_TIMEOUT_MS="3000",
                      NEXUS_AUTH_LISTEN=f"unix:{auth_socket}",
                      NEXUS_GATEWAY_DAEMONS=",".join(f"{s.ip}:{DAEMON_PORT}"
                                                     for s in net.sides.values()),
                      NEXUS_GATEWAY_DAEMON_TLS_CA=certs.ca,
                      NEXUS_GATEWAY_DAEMON_TLS_CERT=certs.client[0],
                      NEXUS_GATEWAY_DAEMON_TLS_KEY=certs.client[1],
                      NEXUS_DAEMON_TLS_CLIENT_CA=certs.ca)

        def host_env(key, **more):
            side = net.sides[key]
            cert, key_file = certs.servers[side.name]
            return dict(common,
                        NEXUS_DAEMON_LISTEN=f"{side.ip}:{DAEMON_PORT}",
                        NEXUS_DAEMON_TLS_CERT=cert, NEXUS_DAEMON_TLS_KEY=key_file,
                        NEXUS_DAEMON_HOST_NAME=side.name,
                        NEXUS_GATEWAY_LISTEN=f"{side.ip}:{GATEWAY_PORT}",
                        NEXUS_NETWORK_SUBNET=subnets[key],
                        NEXUS_NODES_HOST_MEMORY_RESERVE_MB=str(memory - ROOM_MB[key]),
                        **more)

        dir_b = os.path.join(a.data_dir, "host-b")
        os.makedirs(dir_b, mode=0o700)
        host_a = Host(net, net.sides["a"], host_env("a"), a.build_dir,
                      {"nexusd": a.log_path("nexusd"), "nexus-api": a.log_path("nexus-api")})
        host_b = Host(net, net.sides["b"],
                      host_env("b", NEXUS_DATA_DIR=dir_b, NEXUS_INSTANCE=instance_name()),
                      a.build_dir,
                      {"nexusd": os.path.join(a.log_dir, "host-b-nexusd.log"),
                       "nexus-api": os.path.join(a.log_dir, "host-b-nexus-api.log")})
        undo.callback(_stop_hosts, (host_a, host_b))
        for h in (host_a, host_b):
            h.start("nexusd")
        for h in (host_a, host_b):
            h.start("nexus-api")

        a.api = host_a.api  # registration goes through A's gateway
        user = registered_user(a, "multi")
        undo.callback(_delete_nodes, (host_a, host_b), user)
        yield types.SimpleNamespace(a=host_a, b=host_b, inst=a, user=user, net=net,
                                    certs=certs, subnets=subnets)


@pytest.fixture
def mh(hosts, attach_logs):
    attach_logs(hosts.inst)  # nexus-auth, and host A's nexusd and nexus-api
    attach_logs(hosts.b)
    dead = {f"{h.name} {n}": code for h in (hosts.a, hosts.b) for n, code in h.dead().items()}
    if hosts.inst.procs["nexus-auth"].poll() is not None:
        dead["nexus-auth"] = hosts.inst.procs["nexus-auth"].returncode
    if dead:
        pytest.fail(f"services exited: {dead}", pytrace=False)
    return hosts


def node_hosts(mh):
    """{node name: host} as the nodes table records them."""
    text = backends.metadata_value(
        mh.inst, "SELECT string_agg(name || '=' || host, ',' ORDER BY name) FROM nodes")
    return dict(item.split("=", 1) for item in text.split(",") if item)


@pytest.fixture(scope="module")
def placed(hosts):
    """Two nodes of NODE_MB, the first made through gateway A, the second
    through gateway B: their JSON by name, and the hosts PostgreSQL records."""
    body = {"memory_mb": NODE_MB, "storage_size": "64M"}
    nodes = {"first": create(hosts.a, hosts.user, dict(body, name="first")),
             "second": create(hosts.b, hosts.user, dict(body, name="second"))}
    return types.SimpleNamespace(nodes=nodes, hosts=node_hosts(hosts))


def status_through(gateway, user, node):
    r = gateway.api.get(f"{NODES}/{node}", token=user.token, timeout=SLOW)
    assert r.status_code == 200, f"GET {node} through {gateway.name}: {r.status_code} {r.text}"
    return r.json()["status"]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_what_one_host_stores_the_other_downloads_byte_for_byte(mh):
    for source, target in ((mh.a, mh.b), (mh.b, mh.a)):
        data = os.urandom(4 * MiB + random.randrange(1, 4096))
        path = f"/from-{source.name}.bin"
        put_ok(source, mh.user, path, data)
        assert (path[1:], "file") in names(ls_ok(target, mh.user, "/"))
        r = get(target, mh.user, path, timeout=60)
        assert r.status_code == 200, f"{path} through {target.name}: {r.status_code} {r.text[:300]}"
        assert _sha256(r.content) == _sha256(data), f"{path} differs through {target.name}"


def test_nodes_go_where_memory_is_and_answer_through_either_gateway(mh, placed):
    a, b, user = mh.a, mh.b, mh.user
    # A had 1000 MiB of room against B's 900; after the first node, 744 against 900.
    assert placed.hosts == {"first": "host-a", "second": "host-b"}
    # Made by that host's daemon: an address of its node subnet, a container under its runc root.
    for name, key in (("first", "a"), ("second", "b")):
        ip = ipaddress.ip_address(placed.nodes[name]["ip"])
        assert ip in ipaddress.ip_network(mh.subnets[key]), (name, str(ip))
    assert (len(HostView(a).containers()), len(HostView(b).containers())) == (1, 1)

    for gateway in (a, b):
        r = gateway.api.get(NODES, token=user.token, timeout=SLOW)
        assert r.status_code == 200, r.text
        assert sorted((n["id"], n["status"]) for n in r.json()) == [
            ("first", "Running"), ("second", "Running")], gateway.name

    # Node calls reach the node's host whichever gateway takes them.
    for gateway, name in ((b, "first"), (a, "second"), (a, "first"), (b, "second")):
        marker = unique("ran-")
        out = execute(gateway, user, name,
                      ["sh", "-c", 'echo "$0"; cat /proc/net/fib_trie', marker])
        assert out["exit_code"] == 0, out
        assert out["stdout"].startswith(marker + "\n"), out
        assert placed.nodes[name]["ip"] in out["stdout"], f"{name} through {gateway.name}"

    r = b.api.post(f"{NODES}/first/stop", token=user.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Stopped"
    assert status_through(a, user, "first") == "Stopped"
    r = a.api.post(f"{NODES}/first/start", token=user.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Running"
    assert status_through(b, user, "first") == "Running"
    assert node_hosts(mh) == placed.hosts, "stop and start moved a node"

    # One name across hosts: "second" lives on B; a new one would go to A.
    r = a.api.post(NODES, token=user.token, json={"name": "second", "memory_mb": 64,
                                                  "storage_size": "64M"}, timeout=SLOW)
    assert_json_error(r, 409)


def test_a_node_no_host_has_room_for_is_refused_and_recorded_nowhere(mh):
    for gateway in (mh.a, mh.b):
        before = [sorted(HostView(h).containers()) for h in (mh.a, mh.b)]
        r = gateway.api.post(NODES, token=mh.user.token, timeout=SLOW, json={
            "name": "toobig", "memory_mb": TOO_BIG_MB, "storage_size": "64M"})
        assert_json_error(r, 507)
        assert r.json()["error"] == "no host has room for a node of this size"
        assert "toobig" not in node_hosts(mh)
        assert_json_error(gateway.api.get(f"{NODES}/toobig", token=mh.user.token, timeout=SLOW),
                          404)
        assert [sorted(HostView(h).containers()) for h in (mh.a, mh.b)] == before


def test_the_daemon_port_admits_only_clients_with_a_certificate_of_the_ca(mh):
    ip, certs = mh.b.ip, mh.certs
    assert speaks_grpc_tls(ip, DAEMON_PORT, certs.ca, certs.client), \
        "the gateways' certificate was refused (or the daemon's does not name its address)"
    assert not speaks_grpc_tls(ip, DAEMON_PORT, certs.ca), "a client without a certificate got in"
    assert not speaks_grpc_tls(ip, DAEMON_PORT, certs.ca, certs.stranger), \
        "a client certificate of another CA got in"


def test_a_daemon_will_not_listen_on_tcp_without_its_three_tls_files(mh):
    side = mh.b
    tls = ("NEXUS_DAEMON_TLS_CERT", "NEXUS_DAEMON_TLS_KEY", "NEXUS_DAEMON_TLS_CLIENT_CA")
    for dropped in (tls[2:], tls):
        data_dir = tempfile.mkdtemp(dir=mh.inst.data_dir, prefix="refused-")
        env = {k: v for k, v in side.env.items() if k not in dropped}
        env.update(NEXUS_DATA_DIR=data_dir, NEXUS_INSTANCE=instance_name(),
                   NEXUS_DAEMON_HOST_NAME="host-refused",
                   NEXUS_DAEMON_LISTEN=f"{side.ip}:{DAEMON_PORT + 1}")
        log = os.path.join(mh.inst.log_dir, f"nexusd-without-{len(dropped)}-tls-files.log")
        proc = start_in_netns(side.netns, [side.binary("nexusd")], env, data_dir, log)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"nexusd without {', '.join(dropped)} still runs after 20 s", pytrace=False)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                HostView(types.SimpleNamespace(env=env, data_dir=data_dir)).force_clean()
        with open(log, errors="replace") as f:
            text = f.read()
        assert code != 0, text
        assert "tls" in text.lower(), text


def test_with_host_a_daemon_killed_files_download_and_its_node_shows_unknown(mh, placed):
    a, b, user = mh.a, mh.b, mh.user
    on = {host: name for name, host in placed.hosts.items()}
    if set(on) != {"host-a", "host-b"}:
        pytest.fail(f"needs a node on each host, the nodes are on {placed.hosts}", pytrace=False)
    data = os.urandom(2 * MiB + 7)
    put_ok(a, user, "/before-the-kill.bin", data)

    a.stop("nexusd", sig=signal.SIGKILL)
    try:
        # File calls go to whichever daemon answers: B's, through either gateway.
        for gateway in (b, a):
            r = get(gateway, user, "/before-the-kill.bin", timeout=60)
            assert r.status_code == 200, f"through {gateway.name}: {r.status_code} {r.text[:300]}"
            assert _sha256(r.content) == _sha256(data), f"differs through {gateway.name}"

        wait_until(lambda: status_through(b, user, on["host-a"]) == "Unknown", 10,
                   "host A's node did not turn Unknown with its daemon silent")
        for gateway in (b, a):
            assert status_through(gateway, user, on["host-b"]) == "Running", gateway.name
        assert execute(b, user, on["host-b"], ["true"])["exit_code"] == 0

        # A call that only A's daemon can serve: a prompt, clear 503.
        start = time.monotonic()
        r = b.api.post(f"{NODES}/{on['host-a']}/exec", token=user.token,
                       json={"command": ["true"]}, timeout=30)
        elapsed = time.monotonic() - start
        assert_json_error(r, 503)
        assert elapsed < 15, f"the 503 took {elapsed:.1f} s"
    finally:
        a.start("nexusd")
    wait_until(lambda: status_through(b, user, on["host-a"]) == "Running", 15,
               "host A's node did not come back once its daemon beat again")
