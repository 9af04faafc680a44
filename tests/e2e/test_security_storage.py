"""Multi-tenant hardening of storage, attacked through the public HTTP API:
commits durable before chunk files go, quota held while bytes stream in, a
full disk, names with bidirectional controls, the per-user entry limit, and
who may read the data dir. The chunk store and nexus.db on disk are the
witnesses of what was stored."""

import json
import os
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import threading
import time

import pytest

from harness import (MultipartBody, assert_json_error, registered_user, skip_or_fail, upload,
                     wait_until)

KiB = 1 << 10
MiB = 1 << 20
SETTLE_S = 10
UPLOAD = "/api/files/upload"
FS_UPLOAD = "/api/fs/upload"


# ---------------------------------------------------------------- helpers


def chunks_root(inst):
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


# ------------------------------------------------- item 9: committed means durable


class Strace:
    """strace -f on a running process: the fsyncs and unlinks it makes, in order."""

    def __init__(self, pid, out_path):
        self.out_path = out_path
        self.proc = subprocess.Popen(
            ["strace", "-f", "-y", "-s", "4096", "-e", "trace=fsync,fdatasync,unlink,unlinkat", "-o",
             str(out_path), "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # strace says "Process N attached" for each thread it took.
        line = self.proc.stderr.readline()
        if "attached" not in line:
            self.proc.kill()
            skip_or_fail(f"strace could not attach: {line.strip()}")
        time.sleep(0.5)  # the other threads' attach messages

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.out_path) as f:
            return f.read().splitlines()


SYSCALL_RE = re.compile(r"^(\d+)\s+(?:(\w+)\((.*)|<\.\.\. (\w+) resumed>(.*))$")


def durability_events(lines):
    """The trace as events in order: ("wal-synced",) when an fsync or fdatasync
    of nexus.db-wal returned 0, ("unlink", path) when an unlink started."""
    events, pending = [], {}
    for line in lines:
        m = SYSCALL_RE.match(line)
        if not m:
            continue
        pid = m.group(1)
        if m.group(2):  # a call, whole or unfinished
            name, rest = m.group(2), m.group(3)
            if name in ("fsync", "fdatasync") and "nexus.db-wal>" in rest:
                if "<unfinished" in rest:
                    pending[pid] = True
                elif re.search(r"\)\s+= 0", rest):
                    events.append(("wal-synced",))
            elif name in ("unlink", "unlinkat"):
                path = re.search(r'"([^"]+)"', rest)
                if path:
                    events.append(("unlink", path.group(1)))
        else:  # a resumed call
            if m.group(4) in ("fsync", "fdatasync") and pending.pop(pid, False):
                if re.search(r"\)\s+= 0", m.group(5)):
                    events.append(("wal-synced",))
    return events


def test_a_delete_and_a_replace_are_on_disk_before_their_chunk_files_are_unlinked(
        nexus_factory, tmp_path):
    need_root("tracing nexusd")
    if shutil.which("strace") is None:
        skip_or_fail("strace is not installed (scripts/install-deps.sh installs it)")
    inst = nexus_factory(name="durable")
    user = registered_user(inst, "durable")
    root = chunks_root(inst)
    raw = upload(inst.api, user.token, UPLOAD, [("file", "gone.bin", os.urandom(3 * MiB))])
    assert raw.status_code == 200, raw.text
    deleted = set(store_files(root))
    assert put(inst, user, "/r.bin", os.urandom(3 * MiB)).status_code == 200
    replaced = set(store_files(root)) - deleted
    assert deleted and replaced

    tracer = Strace(inst.procs["nexusd"].pid, tmp_path / "trace.txt")
    try:
        r = inst.api.request("DELETE", f"/api/files/{raw.json()['id']}", token=user.token)
        assert r.status_code in (200, 204), r.text
        wait_until(lambda: not (deleted & set(store_files(root))), SETTLE_S,
                   "the deleted file's chunks were not removed")
        assert put(inst, user, "/r.bin", os.urandom(3 * MiB)).status_code == 200
        wait_until(lambda: not (replaced & set(store_files(root))), SETTLE_S,
                   "the replaced content's chunks were not removed")
    finally:
        lines = tracer.stop()

    # Before the first chunk of each goes, the commit that released it is on
    # disk: a WAL fsync after the last removal of the step before. With
    # synchronous=NORMAL the log is not synced at a commit, and a power cut
    # could bring a file back whose chunks are gone.
    events = durability_events(lines)
    trace = "\n".join(lines[-80:])
    synced = False
    for kind, paths in (("deleted", deleted), ("replaced", replaced)):
        removed = set()
        for e in events:
            if e[0] == "wal-synced":
                synced = True
            elif e[1] in paths:
                assert synced or removed, (
                    f"a chunk of the {kind} file was unlinked before the commit that released it"
                    f" was on disk: {e[1]}\n{trace}")
                removed.add(e[1])
        assert removed == paths, (kind, sorted(paths - removed), trace)
        # The next step's commit must sync again: only syncs after this
        # step's last removal count.
        last = max(i for i, e in enumerate(events) if e[0] == "unlink" and e[1] in paths)
        events = events[last + 1:]
        synced = False


# ------------------------------------------------ item 10: quota held while streaming


QUOTA = 8 * MiB


@pytest.fixture(scope="module")
def quota_inst(module_nexus_factory):
    return module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="reserve")


def test_concurrent_uploads_never_put_more_than_the_quota_on_disk(quota_inst, attach_logs):
    inst = quota_inst
    attach_logs(inst)
    user = registered_user(inst, "reserve")
    root = chunks_root(inst)
    baseline = wait_store_settled(root)
    size, count = 6 * MiB, 6  # each fits alone; together 36 MiB against 8
    blobs = [os.urandom(size) for _ in range(count)]
    ups = [StreamingUpload(inst.port, user.token, FS_UPLOAD, blob, path=f"/r/{i}.bin")
           for i, blob in enumerate(blobs)]
    try:
        with PeakSampler(root, baseline) as sampler:
            # All six stream at once, 256 KiB in turn, to 5 MiB each: before
            # the fix every one of them stored its chunks (~4-5 MiB each).
            for _ in range(5 * MiB // (256 * KiB)):
                for u in ups:
                    u.send(256 * KiB)
            wait_store_settled(root)
            results = [u.finish() for u in ups]
    finally:
        for u in ups:
            u.close()

    statuses = [s for s, _ in results]
    assert sampler.peak <= QUOTA, (
        f"the chunk store held {sampler.peak / MiB:.1f} MiB of this user's new data, "
        f"quota {QUOTA / MiB:.0f} MiB; answers {statuses}")
    winners = [i for i, (s, _) in enumerate(results) if s == 200]
    losers = [i for i, (s, _) in enumerate(results) if s != 200]
    assert len(winners) == 1 and len(losers) == count - 1, results
    for i in losers:
        status, body = results[i]
        assert status == 507 and "quota" in body["error"], results[i]
    u = usage(inst, user)
    assert u["used_bytes"] == size and u["files"] == 1, u
    assert ls_names(inst, user, "/r") == [f"{winners[0]}.bin"]
    r = inst.api.get("/api/fs/download", token=user.token, params={"path": f"/r/{winners[0]}.bin"})
    assert r.status_code == 200 and r.content == blobs[winners[0]]
    # Only the winner's chunks remain.
    wait_until(lambda: store_bytes(root) - baseline == size, SETTLE_S,
               f"the store holds {store_bytes(root) - baseline} bytes of new data, not {size}")
    assert not temp_files(root)
    inst.api.request("DELETE", "/api/fs/delete", token=user.token, params={"path": "/r"})


def test_every_way_an_upload_ends_gives_its_quota_back(quota_inst, attach_logs):
    """Disconnect, a bad request, a refusal and a daemon crash: after each,
    the whole quota can be used again by one upload."""
    inst = quota_inst
    attach_logs(inst)
    user = registered_user(inst, "giveback")
    root = chunks_root(inst)

    def whole_quota_fits():
        data = os.urandom(QUOTA)
        r = put(inst, user, "/full.bin", data)
        assert r.status_code == 200, f"{r.status_code} {r.text[:200]}"
        r = inst.api.request("DELETE", "/api/fs/delete", token=user.token,
                             params={"path": "/full.bin"})
        assert r.status_code == 200, r.text
        assert usage(inst, user)["used_bytes"] == 0

    # The client hangs up mid-body.
    baseline = wait_store_settled(root)
    u = StreamingUpload(inst.port, user.token, FS_UPLOAD, os.urandom(7 * MiB), path="/cut.bin")
    u.send(6 * MiB)
    wait_until(lambda: store_bytes(root) > baseline, SETTLE_S, "nothing of the upload was stored")
    u.reset()
    # Its chunks go first, then its reservation (a moment later).
    wait_until(lambda: store_bytes(root) == baseline, SETTLE_S, "the cut upload's chunks stayed")
    time.sleep(0.2)
    whole_quota_fits()

    # The path turns out bad after the bytes (400).
    r = upload(inst.api, user.token, FS_UPLOAD,
               [("file", "f.bin", os.urandom(6 * MiB)), ("path", None, b"/../x")])
    assert_json_error(r, 400)
    whole_quota_fits()

    # Refused for the quota itself (507).
    assert_json_error(put(inst, user, "/big.bin", os.urandom(QUOTA + MiB)), 507)
    whole_quota_fits()
    assert ls_names(inst, user) == []


def test_a_daemon_restart_mid_upload_leaves_nothing_reserved(nexus_factory):
    inst = nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="restart")
    user = registered_user(inst, "restart")
    u = StreamingUpload(inst.port, user.token, FS_UPLOAD, os.urandom(7 * MiB), path="/x.bin")
    try:
        u.send(6 * MiB)
        wait_store_settled(chunks_root(inst))
        inst.stop_service("nexusd", signal.SIGKILL)
    finally:
        u.close()
    inst.start_service("nexusd")
    inst.wait_healthy()
    r = put(inst, user, "/full.bin", os.urandom(QUOTA))
    assert r.status_code == 200, r.text
    assert usage(inst, user)["used_bytes"] == QUOTA


# ------------------------------------------------------- item 12: a full chunk store


def test_a_full_chunk_store_is_a_507_without_paths_and_recovers_when_space_returns(
        nexus_factory):
    need_root("mounting a small filesystem")
    inst = nexus_factory(name="full", start=False)
    mount_point = os.path.join(inst.data_dir, "small-chunks")
    os.mkdir(mount_point, 0o700)
    source = f"nexus-e2e-{inst.env['NEXUS_INSTANCE']}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", source, mount_point],
                   check=True)
    try:
        inst.env["NEXUS_STORAGE_CHUNKS_DIR"] = mount_point
        inst.start()
        user = registered_user(inst, "full")
        kept = os.urandom(2 * MiB)
        r = upload(inst.api, user.token, UPLOAD, [("file", "kept.bin", kept)])
        assert r.status_code == 200, r.text
        kept_id = r.json()["id"]
        # Someone else's file fills the disk but for about 1 MiB.
        ballast = os.path.join(mount_point, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"\0" * (8 * MiB - store_bytes(mount_point) - MiB))
        before = set(store_files(mount_point))

        for route, parts in (
                (UPLOAD, [("file", "big.bin", os.urandom(4 * MiB))]),
                (FS_UPLOAD, [("path", None, b"/dir/big.bin"), ("file", "x", os.urandom(4 * MiB))]),
                (FS_UPLOAD, [("file", "x", os.urandom(4 * MiB)), ("path", None, b"/late.bin")]),
        ):
            r = upload(inst.api, user.token, route, parts)
            body = assert_json_error(r, 507)
            assert body == {"error": "insufficient storage"}, body
            assert mount_point not in r.text and inst.data_dir not in r.text
            # Nothing of the refused upload is left: no chunk, no temp file.
            wait_until(lambda: set(store_files(mount_point)) == before, SETTLE_S,
                       f"left behind: {sorted(set(store_files(mount_point)) - before)}")
        assert [f["id"] for f in files_of(inst, user)] == [kept_id]
        assert ls_names(inst, user) == []
        # What is stored still downloads.
        r = inst.api.get(f"/api/files/{kept_id}/download", token=user.token)
        assert r.status_code == 200 and r.content == kept
        # The operator, not the client, learns where the disk was full.
        assert mount_point in inst.logs()["nexusd"]

        # Space returns: the same uploads go through.
        os.unlink(ballast)
        data = os.urandom(4 * MiB)
        r = upload(inst.api, user.token, FS_UPLOAD,
                   [("path", None, b"/dir/big.bin"), ("file", "x", data)])
        assert r.status_code == 200, r.text
        r = inst.api.get("/api/fs/download", token=user.token, params={"path": "/dir/big.bin"})
        assert r.status_code == 200 and r.content == data
        assert not temp_files(mount_point)
        assert inst.api.get("/healthz").status_code == 200
    finally:
        inst.stop()
        for _ in range(50):
            if subprocess.run(["umount", mount_point], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", mount_point], check=False)
        os.rmdir(mount_point)


# ----------------------------------------- item 14: bidirectional controls, entry limit


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("ch", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_names_with_bidirectional_controls_are_a_400_on_every_route_that_creates_one(
        nexus, alice, ch):
    name = f"invoice{ch}fdp.exe"
    r = upload(nexus.api, alice.token, FS_UPLOAD, [("path", None, b"/ok/a.txt"),
                                                   ("file", "a.txt", b"a")])
    assert r.status_code == 200, r.text
    before_files = len(files_of(nexus, alice))

    def fs_upload_with_query_path():
        body = MultipartBody([("file", "x", b"data")])
        return nexus.api.post(FS_UPLOAD, token=alice.token, params={"path": f"/ok/{name}"},
                              data=body.to_bytes(), headers={"Content-Type": body.content_type})

    attempts = {
        "file name as filename*": lambda: upload(nexus.api, alice.token, UPLOAD,
                                                 [("file", "x", b"data", name)]),
        "file name as UTF-8": lambda: upload(nexus.api, alice.token, UPLOAD,
                                             [("file", name, b"data")]),
        "mkdir": lambda: nexus.api.post("/api/fs/mkdir", token=alice.token,
                                        json={"path": f"/ok/{name}"}),
        "mkdir of a parent": lambda: nexus.api.post("/api/fs/mkdir", token=alice.token,
                                                    json={"path": f"/{name}/sub"}),
        "upload, path part first": lambda: upload(
            nexus.api, alice.token, FS_UPLOAD,
            [("path", None, f"/ok/{name}".encode()), ("file", "x", b"data")]),
        "upload, path part last": lambda: upload(
            nexus.api, alice.token, FS_UPLOAD,
            [("file", "x", b"data"), ("path", None, f"/ok/{name}".encode())]),
        "upload, path in the query": fs_upload_with_query_path,
        "move": lambda: nexus.api.post("/api/fs/move", token=alice.token,
                                       json={"old_path": "/ok/a.txt", "new_path": f"/ok/{name}"}),
        "move into a new folder": lambda: nexus.api.post(
            "/api/fs/move", token=alice.token,
            json={"old_path": "/ok/a.txt", "new_path": f"/{name}/a.txt"}),
    }
    for what, attempt in attempts.items():
        body = assert_json_error(attempt(), 400)
        assert "bidirectional" in body["error"], (what, body)
    assert ls_names(nexus, alice) == ["ok"]
    assert ls_names(nexus, alice, "/ok") == ["a.txt"]
    assert len(files_of(nexus, alice)) == before_files


@pytest.fixture(scope="module")
def limited(module_nexus_factory):
    return module_nexus_factory(env={"NEXUS_STORAGE_MAX_TREE_ENTRIES": "5"}, name="entries")


def test_files_and_folders_past_the_per_user_limit_are_a_507(limited, attach_logs):
    inst = limited
    attach_logs(inst)
    user = registered_user(inst, "entries")
    other = registered_user(inst, "entries")

    def mkdir(u, p):
        return inst.api.post("/api/fs/mkdir", token=u.token, json={"path": p})

    assert mkdir(user, "/a/b").status_code == 200                        # 2
    assert put(inst, user, "/a/f1", b"1").status_code == 200             # 3
    r = upload(inst.api, user.token, UPLOAD, [("file", "raw.bin", b"r")])
    assert r.status_code == 200, r.text                                  # 4: raw files count
    assert mkdir(user, "/a/c").status_code == 200                        # 5

    refusals = [
        mkdir(user, "/a/d"),
        mkdir(user, "/x/y/z"),
        put(inst, user, "/a/f2", b"2"),
        upload(inst.api, user.token, FS_UPLOAD, [("file", "x", b"2"), ("path", None, b"/a/f3")]),
        upload(inst.api, user.token, UPLOAD, [("file", "raw2.bin", b"r")]),
        inst.api.post("/api/fs/move", token=user.token,
                      json={"old_path": "/a/f1", "new_path": "/new/f1"}),
    ]
    for r in refusals:
        body = assert_json_error(r, 507)
        assert "too many files and folders" in body["error"] and "5" in body["error"], body
    assert ls_names(inst, user) == ["a"]
    assert ls_names(inst, user, "/a") == ["b", "c", "f1"]
    assert len(files_of(inst, user)) == 2
    u = usage(inst, user)
    assert u["files"] + u["folders"] == 5, u

    # What adds no entry still works: replacing, moving within, listing.
    assert put(inst, user, "/a/f1", b"new").status_code == 200
    assert inst.api.post("/api/fs/move", token=user.token,
                         json={"old_path": "/a/f1", "new_path": "/a/b/f1"}).status_code == 200
    # The limit is per user.
    assert mkdir(other, "/1/2/3/4/5").status_code == 200
    # Deleting makes room.
    assert inst.api.request("DELETE", "/api/fs/delete", token=user.token,
                            params={"path": "/a/c"}).status_code == 200
    assert put(inst, user, "/a/f2", b"2").status_code == 200


# ----------------------------------------------------- item 6: who may read the data


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_data_dir_database_and_chunks_are_readable_by_their_owner_only(nexus_factory):
    inst = nexus_factory(name="perms", start=False)
    # An existing data dir as `mkdir` under umask 022 (or an older version)
    # leaves it.
    data = os.path.join(inst.data_dir, "data")
    os.mkdir(data)
    os.chmod(data, 0o755)
    inst.env["NEXUS_DATA_DIR"] = data
    inst.start()
    user = registered_user(inst, "perms")
    r = upload(inst.api, user.token, UPLOAD, [("file", "secret.bin", os.urandom(3 * MiB))])
    assert r.status_code == 200, r.text

    assert mode(data) == 0o700, oct(mode(data))
    for name in ("nexus.db", "nexus.db-wal", "nexus.db-shm"):
        path = os.path.join(data, name)
        assert os.path.exists(path), name
        assert mode(path) == 0o600, (name, oct(mode(path)))
    chunks = os.path.join(data, "chunks")
    found = 0
    for d, dirs, files in os.walk(chunks):
        assert mode(d) & 0o077 == 0, (d, oct(mode(d)))
        for f in files:
            assert mode(os.path.join(d, f)) & 0o077 == 0, (f, oct(mode(os.path.join(d, f))))
            found += 1
    assert found >= 1


def test_a_shared_directory_is_refused_as_the_data_dir(nexus_factory):
    inst = nexus_factory(name="shared", start=False)
    data = os.path.join(inst.data_dir, "tmp-like")
    os.mkdir(data)
    os.chmod(data, 0o1777)
    inst.env["NEXUS_DATA_DIR"] = data
    inst.start_service("nexusd")
    try:
        assert inst.procs["nexusd"].wait(10) != 0
    except subprocess.TimeoutExpired:
        pytest.fail("nexusd started on a world-writable sticky data dir")
    assert mode(data) == 0o1777, "left as it was"
    assert "shared directory" in inst.logs()["nexusd"]
