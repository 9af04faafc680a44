"""Per-user fairness of shared slots, attacked through the HTTP API.

User A (the attacker, from 127.0.0.2) holds all it can of each kind of long
call — downloads whose readers never read, uploads that stop mid-body, lambda
runs that sleep, execs that sleep — and user B (from 127.0.0.3) must still be
served, while A's extra call is answered 429 {"error"} with Retry-After. A
body trickled below the minimum transfer rate is cut off, and a gateway that
stalls mid-stream (SIGSTOP) cannot hold nexusd's slot either. Afterwards
every slot is free again: A can start anew.

Each scenario runs on a private instance with small shares and short windows,
so the tests stay short. Lambda and exec need root and runc (execs also the
CNI plugins and the disk tools): skipped without them, failed under CI=true.
"""

import concurrent.futures
import os
import signal
import socket
import struct
import subprocess
import time

import pytest

from harness import (Api, MultipartBody, assert_json_error, chunk_count, random_file,
                     registered_user, skip_or_fail, start_second_gateway, upload, wait_until)
from nodes_host import delete_all_nodes, start_nodes_instance

KiB = 1 << 10
MiB = 1 << 20
UPLOAD = "/api/files/upload"
RUN = "/api/lambda/run"
NODES = "/api/nodes"
A_ADDR = "127.0.0.2"  # the user who tries to take every slot
B_ADDR = "127.0.0.3"  # the user who must still be served
# Bound on how long a release or a cut-off may take to show; the mechanisms
# under test act within a few seconds with the settings used here.
SETTLE_S = 30


def as_user(inst, source, port=None):
    return Api(f"http://127.0.0.1:{port or inst.port}", source_address=source)


def assert_rate_limited(resp):
    """A 429 with a JSON error and a Retry-After of whole seconds."""
    body = assert_json_error(resp, 429)
    assert resp.headers.get("Retry-After", "").isdigit(), dict(resp.headers)
    assert int(resp.headers["Retry-After"]) >= 1
    return body


def download_status(api, token, file_id):
    """GET a download without reading a successful body: its status, and the
    429 answer checked (assert_rate_limited) when it is one."""
    with api.get(f"/api/files/{file_id}/download", token=token, stream=True, timeout=60) as r:
        if r.status_code == 429:
            r.content  # noqa: B018 - the small error body
            assert_rate_limited(r)
        return r.status_code


def connect_from(source, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Before connect, so the advertised window stays small.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def close_hard(s):
    """Closes with a reset, as a killed client's kernel would."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def read_head(s):
    """Reads a response head; returns (status, head text)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(1024)
        if not got:
            break
        data += got
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/1.1 ") else 0
    return status, head


def stalled_download(port, token, file_id, source=A_ADDR):
    """A download whose reader takes the response head, then nothing: the
    socket stays open and unread. Returns the socket."""
    s = connect_from(source, port, rcvbuf=4 * KiB)
    s.sendall((f"GET /api/files/{file_id}/download HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    status, head = read_head(s)
    assert status == 200, head
    return s


def upload_head(token, body, length):
    return (f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {body.content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


# Past the largest chunk (8 MiB): nexusd has stored a chunk of an upload
# that sent this much, so its call holds its slot.
ADMITTED_AFTER = 9 * MiB


def start_upload(inst, token, name, port=None, source=A_ADDR):
    """An upload that sends its head and ADMITTED_AFTER bytes of its file part
    (of more it declares), and returns its socket once nexusd has stored a
    chunk of it: the upload holds its slot for as long as the socket stays
    open and silent."""
    before = chunk_count(inst)
    data = os.urandom(ADMITTED_AFTER)
    body = MultipartBody([("file", name, data + os.urandom(MiB))])
    s = connect_from(source, port or inst.port)
    s.sendall(upload_head(token, body, len(body)))
    s.sendall(body.read())  # the part's head
    s.sendall(data)
    wait_until(lambda: chunk_count(inst) > before, SETTLE_S,
               f"nexusd stored nothing of the upload {name}")
    return s


def until_admitted(call, timeout=20):
    """call() again while it answers 429: a probe of the test may hold the
    slot for a moment just when it starts."""
    deadline = time.monotonic() + timeout
    while True:
        r = call()
        if r.status_code != 429 or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def upload_status(api, token, name, data=b"probe"):
    return upload(api, token, UPLOAD, [("file", name, data)])


def names_of(api, token):
    r = api.get("/api/files", token=token)
    assert r.status_code == 200, r.text
    return sorted(f["name"] for f in r.json())


# ---------------------------------------------------------------- downloads and uploads


@pytest.fixture(scope="module")
def shares(module_nexus_factory):
    inst = module_nexus_factory(name="fairshare", env={
        "NEXUS_DAEMON_MAX_CONCURRENT_DOWNLOADS_PER_USER": "2",
        "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "2",
    })
    inst.a = registered_user(inst, "fa")
    inst.b = registered_user(inst, "fb")
    inst.a_api = as_user(inst, A_ADDR)
    inst.b_api = as_user(inst, B_ADDR)
    return inst


@pytest.fixture
def sh(shares, attach_logs):
    attach_logs(shares)
    return shares


def test_a_users_stalled_downloads_take_only_their_share(sh, tmp_path):
    # Larger than every buffer between nexusd and a reader that reads nothing.
    path, _ = random_file(str(tmp_path), 48 * MiB)
    r = upload(sh.a_api, sh.a.token, UPLOAD, [("file", "big.bin", path)])
    assert r.status_code == 200, r.text
    a_file = r.json()["id"]
    b_data = os.urandom(3 * MiB)
    r = upload(sh.b_api, sh.b.token, UPLOAD, [("file", "mine.bin", b_data)])
    assert r.status_code == 200, r.text
    b_file = r.json()["id"]

    held = [stalled_download(sh.port, sh.a.token, a_file) for _ in range(2)]
    try:
        # A's share is taken: A's next download is refused at once ...
        assert download_status(sh.a_api, sh.a.token, a_file) == 429
        # ... and B's is served, whole, from another address and account.
        r = sh.b_api.get(f"/api/files/{b_file}/download", token=sh.b.token, timeout=60)
        assert r.status_code == 200, r.text[:300]
        assert r.content == b_data
        # Short calls are untouched for both.
        assert sh.a_api.get("/api/me", token=sh.a.token).status_code == 200
        assert sh.b_api.get("/api/fs/usage", token=sh.b.token).status_code == 200
    finally:
        for s in held:
            close_hard(s)
    # Everything is given back: A downloads again.
    wait_until(lambda: download_status(sh.a_api, sh.a.token, a_file) == 200, SETTLE_S,
               "A's download slots were not released after its readers went away")


def test_a_users_stalled_uploads_take_only_their_share(sh):
    before = names_of(sh.a_api, sh.a.token)
    held = []
    try:
        for i in range(2):
            held.append(start_upload(sh, sh.a.token, f"stalled{i}.bin"))
        r = upload_status(sh.a_api, sh.a.token, "probe.bin")
        body = assert_rate_limited(r)
        assert "uploads" in body["error"], body
        r = upload_status(sh.b_api, sh.b.token, "meanwhile.bin", os.urandom(2 * MiB))
        assert r.status_code == 200, r.text
    finally:
        for s in held:
            close_hard(s)
    wait_until(lambda: upload_status(sh.a_api, sh.a.token, "after.bin").status_code == 200,
               SETTLE_S, "A's upload slots were not released after its clients went away")
    stored = set(names_of(sh.a_api, sh.a.token)) - set(before)
    assert not any(n.startswith("stalled") for n in stored), stored


# ---------------------------------------------------------------- lambda


def _runc():
    import shutil
    return shutil.which("runc") or ("/usr/sbin/runc" if os.access("/usr/sbin/runc", os.X_OK)
                                    else None)


def test_a_users_sleeping_lambda_runs_take_only_their_share(nexus_factory, attach_logs):
    if os.geteuid() != 0:
        skip_or_fail("lambda needs root (nexusd starts runc containers)")
    if _runc() is None:
        skip_or_fail("lambda needs runc (apt-get install runc)")
    inst = nexus_factory(name="fairlambda", env={
        "NEXUS_LAMBDA_MAX_CONCURRENT": "6",
        "NEXUS_LAMBDA_MAX_CONCURRENT_PER_USER": "2",
    })
    a, b = registered_user(inst, "la"), registered_user(inst, "lb")
    a_api, b_api = as_user(inst, A_ADDR), as_user(inst, B_ADDR)

    def sleeper():
        return until_admitted(lambda: a_api.post(
            RUN, token=a.token, timeout=90,
            json={"Code": "import time; time.sleep(15); print('slept')", "Runtime": "python3",
                  "TimeoutMs": 30000}))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        sleepers = [pool.submit(sleeper) for _ in range(2)]
        last = {}

        def refused():
            last["r"] = a_api.post(RUN, token=a.token, timeout=60,
                                   json={"Code": "print(1)", "Runtime": "python3"})
            return last["r"].status_code == 429
        wait_until(refused, 12, "A's third run was never refused while two slept",
                   interval=0.3)
        body = assert_rate_limited(last["r"])
        assert "lambda" in body["error"], body
        assert not any(f.done() for f in sleepers), "the sleepers ended before the check"
        r = b_api.post(RUN, token=b.token, timeout=60,
                       json={"Code": "print('b was served')", "Runtime": "python3"})
        assert r.status_code == 200, r.text
        assert r.json()["stdout"] == "b was served\n"
        for f in sleepers:
            r = f.result()
            assert r.status_code == 200, r.text
            assert r.json()["stdout"] == "slept\n"
    # Both slots are free again.
    for _ in range(2):
        r = a_api.post(RUN, token=a.token, timeout=60,
                       json={"Code": "print('again')", "Runtime": "python3"})
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------- execs


def test_a_users_sleeping_execs_take_only_their_share(nexus_factory, attach_logs):
    inst = start_nodes_instance(nexus_factory, "fairexec", env={
        "NEXUS_NODES_MAX_CONCURRENT_EXECS": "3",
        "NEXUS_NODES_MAX_CONCURRENT_EXECS_PER_USER": "2",
    })
    a, b = inst.alice, inst.bob
    a_api, b_api = as_user(inst, A_ADDR), as_user(inst, B_ADDR)
    try:
        for api, user in ((a_api, a), (b_api, b)):
            r = api.post(NODES, token=user.token, timeout=60,
                         json={"name": "box", "memory_mb": 64, "storage_size": "64M"})
            assert r.status_code == 201, r.text

        def execute(api, user, command, timeout_ms=30000):
            return api.post(f"{NODES}/box/exec", token=user.token, timeout=90,
                            json={"command": command, "timeout_ms": timeout_ms})

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            sleepers = [pool.submit(until_admitted,
                                    lambda: execute(a_api, a, ["sh", "-c", "sleep 15; echo slept"]))
                        for _ in range(2)]
            last = {}

            def refused():
                last["r"] = execute(a_api, a, ["true"])
                return last["r"].status_code == 429
            wait_until(refused, 12, "A's third exec was never refused while two slept",
                       interval=0.3)
            body = assert_rate_limited(last["r"])
            assert "execs" in body["error"], body
            assert not any(f.done() for f in sleepers), "the sleepers ended before the check"
            r = execute(b_api, b, ["echo", "b was served"])
            assert r.status_code == 200, r.text
            assert r.json()["stdout"] == "b was served\n"
            for f in sleepers:
                r = f.result()
                assert r.status_code == 200, r.text
                assert r.json()["stdout"] == "slept\n"
        for _ in range(2):
            r = execute(a_api, a, ["echo", "again"])
            assert r.status_code == 200, r.text
    finally:
        delete_all_nodes(inst, [a, b])


# ---------------------------------------------------------------- the transfer floor


@pytest.fixture
def floor(nexus_factory, attach_logs):
    # A floor of 128 KiB/s judged over 2 s of the client's time, one upload
    # and one download per user: what a trickle holds is visible.
    inst = nexus_factory(name="fairfloor", env={
        "NEXUS_GATEWAY_MIN_TRANSFER_BYTES_PER_SECOND": str(128 * KiB),
        "NEXUS_GATEWAY_MIN_TRANSFER_WINDOW_SECONDS": "2",
        "NEXUS_DAEMON_MAX_CONCURRENT_DOWNLOADS_PER_USER": "1",
        "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "1",
    })
    inst.a = registered_user(inst, "ta")
    inst.a_api = as_user(inst, A_ADDR)
    return inst


def test_an_upload_trickled_below_the_floor_is_cut_off_and_keeps_nothing(floor):
    s = start_upload(floor, floor.a.token, "trickle.bin")
    answer = b""
    try:
        # The trickle holds A's one upload slot while it lasts.
        assert_rate_limited(upload_status(floor.a_api, floor.a.token, "probe.bin"))
        # 100 bytes every 0.25 s: each read returns long before any timeout,
        # but 400 bytes/s is far below the floor.
        s.settimeout(0.25)
        deadline = time.monotonic() + SETTLE_S
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                s.sendall(b"x" * 100)
            except OSError:
                closed = True
                break
            try:
                got = s.recv(4096)
                answer += got
                closed = not got
            except socket.timeout:
                pass
            except OSError:
                closed = True
        assert closed, "a body trickled at 400 bytes/s was not cut off"
    finally:
        close_hard(s)
    # Answered (or not: the cut may come while a read waits), never a success.
    if answer:
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
        assert b"minimum transfer rate" in answer, answer[:400]
    wait_until(lambda: upload_status(floor.a_api, floor.a.token, "after.bin").status_code == 200,
               SETTLE_S, "the cut-off upload's slot was not released")
    assert "trickle.bin" not in names_of(floor.a_api, floor.a.token)


def test_a_download_read_below_the_floor_is_cut_off(floor, tmp_path):
    path, _ = random_file(str(tmp_path), 48 * MiB)
    r = upload(floor.a_api, floor.a.token, UPLOAD, [("file", "big.bin", path)])
    assert r.status_code == 200, r.text
    file_id = r.json()["id"]
    s = connect_from(A_ADDR, floor.port, rcvbuf=64 * KiB)
    try:
        s.sendall((f"GET /api/files/{file_id}/download HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {floor.a.token}\r\n\r\n").encode())
        status, head = read_head(s)
        assert status == 200, head
        assert download_status(floor.a_api, floor.a.token, file_id) == 429
        # 16 KiB every 0.25 s: every write completes well within the write
        # timeout, but 64 KiB/s is half the floor.
        received = 0
        deadline = time.monotonic() + SETTLE_S
        closed = False
        while time.monotonic() < deadline and not closed:
            time.sleep(0.25)
            try:
                got = s.recv(16 * KiB)
            except OSError:
                closed = True
                break
            received += len(got)
            closed = not got
        assert closed, f"a download read at 64 KiB/s was not cut off ({received} bytes read)"
        assert received < 48 * MiB
    finally:
        close_hard(s)
    wait_until(lambda: download_status(floor.a_api, floor.a.token, file_id) == 200, SETTLE_S,
               "the cut-off download's slot was not released")


# ---------------------------------------------------------------- a stalled gateway


def test_a_stalled_gateway_cannot_hold_nexusds_slots(nexus_factory, attach_logs, tmp_path):
    inst = nexus_factory(name="fairidle", env={
        "NEXUS_DAEMON_STREAM_IDLE_TIMEOUT_SECONDS": "5",
        "NEXUS_DAEMON_MAX_CONCURRENT_DOWNLOADS_PER_USER": "1",
        "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "1",
    })
    attach_logs(inst)
    a = registered_user(inst, "ia")
    path, _ = random_file(str(tmp_path), 64 * MiB)
    r = upload(inst.api, a.token, UPLOAD, [("file", "big.bin", path)])
    assert r.status_code == 200, r.text
    file_id = r.json()["id"]
    gw1 = inst.procs["nexus-api"]
    gw2, port2 = start_second_gateway(inst)
    other = as_user(inst, A_ADDR, port2)
    held = []
    try:
        # A holds its one download and its one upload through the first gateway ...
        held.append(start_upload(inst, a.token, "stalled.bin"))
        held.append(stalled_download(inst.port, a.token, file_id))
        assert download_status(other, a.token, file_id) == 429
        assert_rate_limited(upload_status(other, a.token, "probe.bin"))
        # ... and that gateway stalls: it can neither move their bytes nor end them.
        gw1.send_signal(signal.SIGSTOP)
        # nexusd gives up on both streams on its own, and A is served again
        # through the other gateway.
        wait_until(lambda: download_status(other, a.token, file_id) == 200, SETTLE_S,
                   "the stalled gateway's download kept its slot")
        wait_until(lambda: upload_status(other, a.token, "after.bin").status_code == 200,
                   SETTLE_S, "the stalled gateway's upload kept its slot")
        log = inst.logs()["nexusd"]
        assert "the client took nothing for 5 s" in log, log[-3000:]
        assert "nothing arrived for 5 s" in log, log[-3000:]
    finally:
        gw1.send_signal(signal.SIGCONT)
        for s in held:
            close_hard(s)
        gw2.terminate()
        try:
            gw2.wait(5)
        except subprocess.TimeoutExpired:
            gw2.kill()
            gw2.wait()
    assert "stalled.bin" not in names_of(inst.api, a.token)
