"""Two nexusd on one PostgreSQL database and one S3 bucket serve the same
files: instance A (its own auth, nexusd and gateway) and a second nexusd B
beside it, with a second gateway that sends its calls to B. What is
uploaded through one daemon lists, downloads, moves and deletes through the
other, identical bytes are stored once in the bucket whichever daemon
received them, the quota is one, and with daemon A killed its files still
download through B. A node made on A's host shows through B as A recorded
it while A beats, and Unknown once A falls silent; B never touches it.

With NEXUS_E2E_BACKENDS=postgres+s3 A runs on the session's back-ends;
otherwise the module starts its own cluster and store (backends.py)."""

import hashlib
import ipaddress
import os
import random
import signal
import subprocess
import time
import types

import pytest

import backends
from fs_routes import MiB, get, ls_ok, mkdir, mv, names, put_ok, rm, usage
from harness import (Api, assert_json_error, instance_name, registered_user, skip_or_fail,
                     start_second_gateway, wait_until)
from nodes_host import (IP_FORWARD, NODES, SLOW, HostView, create, missing_requirements)

# Each daemon says it is alive every second; three silent seconds make its
# nodes Unknown to the other.
BEAT = {"NEXUS_NODES_METRICS_INTERVAL_SECONDS": "1"}


def _subnets():
    """Two distinct random subnets 10.241.<n>.0/24, for A's and B's bridges."""
    first, second = random.sample(range(256), 2)
    return [str(ipaddress.ip_network(f"10.241.{n}.0/24")) for n in (first, second)]


def _own_backends(module_nexus_factory):
    """(profile, own): the session's back-ends, or a cluster and store for
    this module (own, not started yet)."""
    if backends.active is not None:
        return backends.active, None
    if not os.path.exists("/usr/lib/postgresql"):
        skip_or_fail("needs postgresql (scripts/install-deps.sh)")

    def make_store(env):
        return module_nexus_factory(env=env, name="store2d")

    profile = backends.PostgresS3(make_store, skip_or_fail)
    return profile, profile


@pytest.fixture(scope="module")
def two(module_nexus_factory):
    profile, own = _own_backends(module_nexus_factory)
    a = daemon_b = gateway_b = user = None
    subnet_a, subnet_b = _subnets()
    try:
        if own is not None:
            own.start()
        missing = missing_requirements()
        if missing:
            skip_or_fail("nodes need " + ", ".join(missing))
        with open(IP_FORWARD) as f:
            ip_forward = f.read()
        a = module_nexus_factory(name="twodaemons", start=False)
        if own is not None:
            own.configure(a)
        a.env.update(BEAT, NEXUS_DAEMON_HOST_NAME="daemon-a", NEXUS_NETWORK_SUBNET=subnet_a)
        a.start()

        # Daemon B: the same metadata and bucket (and the secret file),
        # its own data dir, socket, host name and instance name.
        dir_b = os.path.join(a.data_dir, "daemon-b")
        os.makedirs(dir_b, mode=0o700)
        socket_b = f"unix:{dir_b}/run/nexusd.sock"
        env_b = dict(a.env, NEXUS_DATA_DIR=dir_b, NEXUS_INSTANCE=instance_name(),
                     NEXUS_DAEMON_LISTEN=socket_b, NEXUS_DAEMON_HOST_NAME="daemon-b",
                     NEXUS_NETWORK_SUBNET=subnet_b)
        log = open(os.path.join(a.log_dir, "nexusd-b.log"), "ab")
        try:
            daemon_b = subprocess.Popen(
                [os.path.join(a.build_dir, "src/daemon/nexusd")], env=env_b, cwd=dir_b,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        wait_until(lambda: os.path.exists(socket_b[len("unix:"):]) or daemon_b.poll() is not None,
                   20, "daemon B did not open its socket")
        assert daemon_b.poll() is None, "daemon B exited during start-up"
        gateway_b, port_b = start_second_gateway(a, env={"NEXUS_DAEMON_LISTEN": socket_b},
                                                 label="nexus-api-b")
        b = types.SimpleNamespace(api=Api(f"http://127.0.0.1:{port_b}"))
        user = registered_user(a, "twod")
        yield types.SimpleNamespace(a=a, b=b, user=user, daemon_b=daemon_b,
                                    backends=profile)
    finally:
        if a is not None:
            # A's nodes, through A while it runs, then whatever is left on the host.
            try:
                if a.procs and user is not None:
                    for node in a.api.get(NODES, token=user.token, timeout=SLOW).json():
                        a.api.request("DELETE", f"{NODES}/{node['id']}", token=user.token,
                                      timeout=SLOW)
            except Exception:  # noqa: BLE001 - teardown is best effort; force_clean follows
                pass
            HostView(a).force_clean()
            with open(IP_FORWARD, "w") as f:
                f.write(ip_forward)
        for proc in (gateway_b, daemon_b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if daemon_b is not None:
            HostView(types.SimpleNamespace(env=env_b, data_dir=dir_b)).force_clean()
        if own is not None:
            # A and the store go with the factory, after this: stop A's
            # services before the cluster they use is removed.
            if a is not None:
                a.stop()
            own.stop()


@pytest.fixture
def td(two, attach_logs):
    attach_logs(two.a)
    if two.daemon_b.poll() is not None:
        pytest.fail(f"daemon B exited with {two.daemon_b.returncode}", pytrace=False)
    return two


def test_what_one_daemon_stores_the_other_lists_downloads_moves_and_deletes(td):
    a, b, user = td.a, td.b, td.user
    data = os.urandom(3 * MiB + 5)
    assert mkdir(b, user, "/shared").status_code in (200, 201)
    put_ok(a, user, "/shared/from-a.bin", data)          # through daemon A
    assert names(ls_ok(b, user, "/shared")) == [("from-a.bin", "file")]  # seen by B
    r = get(b, user, "/shared/from-a.bin", timeout=60)
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(data).digest()

    assert mv(b, user, "/shared/from-a.bin", "/shared/moved.bin").status_code == 200
    assert names(ls_ok(a, user, "/shared")) == [("moved.bin", "file")]
    assert get(a, user, "/shared/moved.bin", timeout=60).content == data
    assert usage(a, user) == usage(b, user), "one quota, whichever daemon answers"

    assert rm(b, user, "/shared").status_code in (200, 204)
    assert_json_error(get(a, user, "/shared/moved.bin"), 404)


def test_the_same_bytes_through_either_daemon_are_stored_once(td):
    a, b, user = td.a, td.b, td.user
    data = os.urandom(2 * MiB + 11)
    before = td.backends.chunk_objects(a)
    put_ok(a, user, "/one.bin", data)
    after_a = td.backends.chunk_objects(a)
    mine = {k: t for k, t in after_a.items() if k not in before}
    assert mine, "A stored no chunk object"
    time.sleep(1.1)  # S3 times step by seconds: a second PUT would show
    put_ok(b, user, "/two.bin", data)
    after_b = td.backends.chunk_objects(a)
    assert {k: after_b.get(k) for k in mine} == mine, "B stored chunks A had stored already"
    # Deleting A's copy through A leaves B's readable.
    assert rm(a, user, "/one.bin").status_code in (200, 204)
    assert get(b, user, "/two.bin", timeout=60).content == data
    assert get(a, user, "/two.bin", timeout=60).content == data


def test_with_daemon_a_killed_its_files_still_download_through_b(td):
    a, b, user = td.a, td.b, td.user
    data = os.urandom(1 * MiB + 3)
    put_ok(a, user, "/before-the-kill.bin", data)
    a.stop_service("nexusd", sig=signal.SIGKILL)
    try:
        r = get(b, user, "/before-the-kill.bin", timeout=60)
        assert r.status_code == 200, r.text
        assert r.content == data
        put_ok(b, user, "/after-the-kill.bin", data[::-1])
        assert {n for n, _ in names(ls_ok(b, user, "/"))} >= {"before-the-kill.bin",
                                                             "after-the-kill.bin"}
        # A's gateway has no daemon now: a clear 5xx, not a hang.
        r = a.api.get("/api/fs/ls", token=user.token, params={"path": "/"}, timeout=30)
        assert r.status_code in (502, 503), r.text
    finally:
        a.start_service("nexusd")
        a.wait_healthy()
    assert get(a, user, "/after-the-kill.bin", timeout=60).content == data[::-1]


def _status_through(inst, user, node):
    r = inst.api.get(f"{NODES}/{node}", token=user.token, timeout=SLOW)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def test_a_node_of_a_silent_daemon_shows_unknown_and_the_other_never_touches_it(td):
    a, b, user = td.a, td.b, td.user
    node = create(a, user, {"name": "edge", "memory_mb": 64, "storage_size": "64M"})
    assert node["status"] == "Running"
    listed = b.api.get(NODES, token=user.token, timeout=SLOW).json()
    assert [(n["id"], n["status"], n["ip"]) for n in listed] == [("edge", "Running", node["ip"])]
    # B does not run A's node: it says so rather than act on a container of its own.
    r = b.api.post(f"{NODES}/edge/exec", token=user.token, json={"command": ["true"]},
                   timeout=SLOW)
    assert r.status_code == 503, r.text
    assert "daemon-a" in r.json()["error"]
    assert b.api.post(NODES, token=user.token, json={"name": "edge"},
                      timeout=SLOW).status_code == 409, "names are one across daemons"

    a.stop_service("nexusd", sig=signal.SIGKILL)
    try:
        wait_until(lambda: _status_through(b, user, "edge") == "Unknown", 15,
                   "A's node did not turn Unknown with A silent")
    finally:
        a.start_service("nexusd")
        a.wait_healthy()
    wait_until(lambda: _status_through(b, user, "edge") == "Running", 15,
               "A's node did not come back once A beat again")
    assert _status_through(a, user, "edge") == "Running", "A restarted its node's container"
    r = a.api.request("DELETE", f"{NODES}/edge", token=user.token, timeout=SLOW)
    assert r.status_code in (200, 204), r.text
