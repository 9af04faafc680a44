"""What the test_security_storage*.py files watch storage with: the chunk
store and nexus.db on disk, the Files and tree APIs as one user's calls, an
upload streamed at a chosen pace, and a sampler of the store's size."""

import json
import os
import re
import select
import socket
import struct
import threading
import time

import backends
from harness import SETTLE_S, MultipartBody, skip_or_fail, upload


KiB = 1 << 10
MiB = 1 << 20
UPLOAD = "/api/files/upload"
FS_UPLOAD = "/api/fs/upload"


def chunks_root(inst):
    backends.require_local_store(inst, "chunks_root")
    return inst.env.get("NEXUS_STORAGE_CHUNKS_DIR") or os.path.join(
        inst.env["NEXUS_DATA_DIR"], "chunks")


def store_files(root):
    """{path: size} of every regular file under `root` (chunks and temp files)."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                out[p] = os.stat(p).st_size
            except FileNotFoundError:
                pass  # removed while we walked
    return out


def store_bytes(root):
    return sum(store_files(root).values())


def temp_files(root):
    return [p for p in store_files(root) if os.path.basename(p).startswith(".tmp-")]


def files_of(inst, user):
    r = inst.api.get("/api/files", token=user.token)
    assert r.status_code == 200, r.text
    return r.json()


def usage(inst, user):
    r = inst.api.get("/api/fs/usage", token=user.token)
    assert r.status_code == 200, r.text
    return r.json()


def ls_names(inst, user, path="/"):
    r = inst.api.get("/api/fs/ls", token=user.token, params={"path": path})
    assert r.status_code == 200, f"ls {path}: {r.status_code} {r.text[:300]}"
    return sorted(e["name"] for e in r.json())


def put(inst, user, path, data, timeout=60):
    return upload(inst.api, user.token, FS_UPLOAD,
                  [("path", None, path.encode()), ("file", "upload.bin", data)], timeout=timeout)


def need_root(what):
    if os.geteuid() != 0:
        skip_or_fail(f"{what} needs root")


class StreamingUpload:
    """One multipart upload over its own socket, its body sent in steps the
    test controls. The server may answer before the body ends (a refused
    upload): every step first looks for an answer and stops sending once one
    came, as a browser does."""

    def __init__(self, port, token, route, data, filename="upload.bin", path=None):
        parts = [("file", filename, data)]
        if path is not None:
            parts.insert(0, ("path", None, path.encode()))
        multipart = MultipartBody(parts)
        self.body = multipart.to_bytes()
        head = (f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\n"
                f"Content-Type: {multipart.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\n\r\n")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(head.encode())
        self.sent = 0
        self.answer = b""
        self.answered = False

    def _answer_waiting(self, timeout=0.0):
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return bool(readable)

    def send(self, n):
        """Sends up to `n` more body bytes; False once the server answered."""
        end = min(len(self.body), self.sent + n)
        while self.sent < end and not self.answered:
            if self._answer_waiting():
                self.answered = True
                break
            _, writable, _ = select.select([], [self.sock], [], 0.05)
            if not writable:
                continue
            try:
                self.sent += self.sock.send(self.body[self.sent:min(end, self.sent + 64 * KiB)])
            except OSError:
                self.answered = True  # reset after an answer: read it below
        return not self.answered

    def finish(self, timeout=60):
        """Sends the rest (unless answered) and returns (status, parsed JSON body)."""
        self.send(len(self.body))
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.answer or len(self._body()) < self._length():
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete answer: {self.answer[:300]!r}")
            if not self._answer_waiting(0.2):
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                break
            self.answer += data
        self.close()
        head = self.answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1])
        return status, json.loads(self._body() or b"null")

    def reset(self):
        """Hangs up mid-body as a killed client's kernel would (RST)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self):
        self.sock.close()

    def _length(self):
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", self.answer.split(b"\r\n\r\n", 1)[0],
                      re.IGNORECASE)
        return int(m.group(1)) if m else 0

    def _body(self):
        return self.answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in self.answer else b""


class PeakSampler:
    """Samples the bytes in a chunk store on a thread until stopped; keeps the peak."""

    def __init__(self, root, baseline=0):
        self.root, self.baseline, self.peak = root, baseline, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, store_bytes(self.root) - self.baseline)
            self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, store_bytes(self.root) - self.baseline)


def wait_store_settled(root, quiet_s=0.3, timeout=SETTLE_S):
    """Waits until the chunk store's size stops changing for `quiet_s`."""
    deadline = time.monotonic() + timeout
    last, since = store_bytes(root), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = store_bytes(root)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    return last
