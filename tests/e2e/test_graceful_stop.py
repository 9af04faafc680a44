"""Graceful stop: on SIGTERM the gateway stops accepting, lets a request
under way finish within shutdown_grace_seconds and exits 0; an upload cut
off at the deadline leaves no file, no chunk and no used quota behind.
(The backends' exit code on SIGTERM: test_gateway.py.)"""

import hashlib
import os
import signal
import socket
import time

from harness import MultipartBody, chunk_count, registered_user, wait_until

MiB = 1 << 20
UPLOAD = "/api/files/upload"


def start_upload(inst, user, data):
    """Opens a connection and sends the head of a multipart upload of `data`;
    returns (socket, body bytes still to send)."""
    body = MultipartBody([("file", "slow.bin", data)])
    raw = body.to_bytes()
    head = (f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {user.token}\r\nContent-Type: {body.content_type}\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=30)
    s.sendall(head)
    return s, raw


def send_slowly(s, data, piece=256 * 1024, pause=0.05):
    for i in range(0, len(data), piece):
        s.sendall(data[i:i + piece])
        time.sleep(pause)


def read_response(s):
    """The status code and headers+body text of the response, read to EOF."""
    chunks = []
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        chunks.append(b)
    text = b"".join(chunks).decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else 0
    return status, text


def assert_new_connections_refused(inst):
    def refused():
        try:
            socket.create_connection(("127.0.0.1", inst.port), timeout=1).close()
            return False
        except (ConnectionRefusedError, ConnectionResetError):
            # A connect racing the listener's close is reset instead of
            # refused: either way, nobody accepted it.
            return True
    wait_until(refused, 5, "a new connection refused after SIGTERM")


def usage(inst, user):
    r = inst.api.get("/api/fs/usage", token=user.token)
    assert r.status_code == 200, r.text
    return r.json()


def test_sigterm_lets_an_upload_under_way_finish_then_exits_0(nexus_factory):
    inst = nexus_factory(name="stop")
    user = registered_user(inst, "stop")
    data = os.urandom(6 * MiB)
    s, raw = start_upload(inst, user, data)
    third = len(raw) // 3
    send_slowly(s, raw[:third])

    gateway = inst.procs["nexus-api"]
    gateway.send_signal(signal.SIGTERM)
    assert_new_connections_refused(inst)
    send_slowly(s, raw[third:])
    status, text = read_response(s)
    s.close()
    assert status == 200, text[:500]
    assert "connection: close" in text.lower(), text[:500]
    assert gateway.wait(timeout=30) == 0

    inst.start_service("nexus-api")
    inst.wait_healthy()
    r = inst.api.get("/api/files", token=user.token)
    files = r.json()
    assert [f["size"] for f in files] == [len(data)], files
    assert files[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert usage(inst, user)["used_bytes"] == len(data)


def test_an_upload_still_running_at_the_deadline_leaves_nothing_behind(nexus_factory):
    inst = nexus_factory(name="stopcut", env={"NEXUS_SHUTDOWN_GRACE_SECONDS": "1"})
    user = registered_user(inst, "cut")
    data = os.urandom(6 * MiB)
    s, raw = start_upload(inst, user, data)
    send_slowly(s, raw[:len(raw) // 2])

    gateway = inst.procs["nexus-api"]
    started = time.monotonic()
    gateway.send_signal(signal.SIGTERM)
    assert_new_connections_refused(inst)
    # The rest never comes: the deadline passes with the upload open.
    assert gateway.wait(timeout=20) == 0
    assert time.monotonic() - started < 10
    s.close()

    inst.start_service("nexus-api")
    inst.wait_healthy()
    wait_until(lambda: inst.api.get("/api/files", token=user.token).json() == [], 10,
               "no file listed")
    wait_until(lambda: usage(inst, user)["used_bytes"] == 0, 10, "no used quota")
    wait_until(lambda: chunk_count(inst) == 0, 10, "no chunk left in the store")

