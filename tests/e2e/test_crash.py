"""nexusd killed with SIGKILL twenty times while uploads, deletes and moves
are in flight through the HTTP API, and restarted each time. Afterwards the
storage must be whole: every user's usage is the sum of their files' sizes,
every chunk nexus.db references exists and hashes to its name, no chunk file
is left that nothing references (the start-up sweep took the leftovers), and
every acknowledged upload and delete stuck.

Small chunks (16-256 KiB) give every upload many chunk writes to be killed
between; a few shared blobs make uploads deduplicate against each other, so
refcounts are exercised across users too."""

import hashlib
import os
import random
import re
import signal
import sqlite3
import threading
import time

import pytest
import requests

from harness import registered_user, upload

# Reads the local chunk directory and nexus.db by hand (backends.py).
pytestmark = pytest.mark.local_store

KiB = 1 << 10
MiB = 1 << 20
KILLS = 20
USERS = 3
CHUNKS = {"NEXUS_STORAGE_CHUNK_MIN_BYTES": str(16 * KiB),
          "NEXUS_STORAGE_CHUNK_AVG_BYTES": str(64 * KiB),
          "NEXUS_STORAGE_CHUNK_MAX_BYTES": str(256 * KiB)}


class Worker:
    """One user's traffic: raw uploads and deletes, uploads to paths
    (replacing), moves, folder deletes. Records what was acknowledged."""

    def __init__(self, inst, user, blobs, seed):
        self.inst, self.user, self.blobs = inst, user, blobs
        self.rng = random.Random(seed)
        self.acked_raw = set()     # raw file ids whose upload answered 200
        self.acked_deleted = set()  # raw file ids whose delete answered 200/204
        self.unsure_deletes = set()  # raw file ids whose delete got no clear answer
        self.ops = self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def blob(self):
        if self.rng.random() < 0.4:
            return self.rng.choice(self.blobs)  # shared content
        return os.urandom(self.rng.randrange(1, 1536 * KiB))

    def call(self, fn):
        self.ops += 1
        try:
            r = fn()
        except requests.RequestException:
            self.errors += 1
            return None
        if r.status_code >= 500:
            self.errors += 1
        return r

    def run(self):
        api, token = self.inst.api, self.user.token
        while not self.stop.is_set():
            op = self.rng.random()
            if op < 0.3:
                r = self.call(lambda: upload(api, token, "/api/files/upload",
                                             [("file", "raw.bin", self.blob())], timeout=30))
                if r is not None and r.status_code == 200:
                    self.acked_raw.add(r.json()["id"])
            elif op < 0.45:
                live = sorted(self.acked_raw - self.acked_deleted - self.unsure_deletes)
                if live:
                    fid = self.rng.choice(live)
                    r = self.call(lambda: api.request("DELETE", f"/api/files/{fid}", token=token))
                    if r is not None and r.status_code in (200, 204):
                        self.acked_deleted.add(fid)
                    elif r is None or r.status_code != 404:
                        self.unsure_deletes.add(fid)
            elif op < 0.7:
                path = f"/d{self.rng.randrange(3)}/f{self.rng.randrange(6)}"
                self.call(lambda: upload(api, token, "/api/fs/upload",
                                         [("path", None, path.encode()),
                                          ("file", "t.bin", self.blob())], timeout=30))
            elif op < 0.88:
                src = f"/d{self.rng.randrange(3)}/f{self.rng.randrange(6)}"
                dst = f"/d{self.rng.randrange(3)}/m{self.rng.randrange(6)}"
                if self.rng.random() < 0.3:
                    src, dst = f"/d{self.rng.randrange(3)}", f"/e{self.rng.randrange(3)}"
                self.call(lambda: api.post("/api/fs/move", token=token,
                                           json={"old_path": src, "new_path": dst}))
            else:
                path = self.rng.choice([f"/d{self.rng.randrange(3)}", f"/e{self.rng.randrange(3)}",
                                        f"/d{self.rng.randrange(3)}/m{self.rng.randrange(6)}"])
                self.call(lambda: api.request("DELETE", "/api/fs/delete", token=token,
                                              params={"path": path}))
            if self.errors and self.rng.random() < 0.5:
                time.sleep(0.01)  # nexusd may be down: do not spin


def chunk_files(root):
    """{hash: path} of the chunk files, and the temp files, under the store."""
    chunks, temps = {}, []
    for d, _, files in os.walk(root):
        for f in files:
            (temps.append(f) if f.startswith(".tmp-") else chunks.__setitem__(f, os.path.join(d, f)))
    return chunks, temps


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_nexusd_killed_twenty_times_mid_traffic_leaves_storage_whole(nexus_factory):
    inst = nexus_factory(env=CHUNKS, name="crash20")
    users = [registered_user(inst, "crash") for _ in range(USERS)]
    blobs = [os.urandom(random.randrange(64 * KiB, 1024 * KiB)) for _ in range(6)]
    workers = [Worker(inst, u, blobs, seed=i) for i, u in enumerate(users)]
    rng = random.Random(1234)
    started = time.monotonic()
    for w in workers:
        w.thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 0.7))  # traffic in flight
            inst.stop_service("nexusd", signal.SIGKILL)
            inst.start_service("nexusd")
            inst.wait_healthy()
    finally:
        for w in workers:
            w.stop.set()
        for w in workers:
            w.thread.join(60)
    # A last kill with nothing in flight but what the workers left, so the
    # state checked is the one a start-up after a crash produces.
    inst.stop_service("nexusd", signal.SIGKILL)
    inst.start_service("nexusd")
    inst.wait_healthy()
    elapsed = time.monotonic() - started
    total_ops = sum(w.ops for w in workers)
    assert total_ops > 100, f"only {total_ops} operations in {elapsed:.0f} s"
    assert sum(len(w.acked_raw) for w in workers) > 10, "too few uploads got through"

    sizes = {}
    for w in workers:
        u, token = w.user, w.user.token
        r = inst.api.get("/api/files", token=token)
        assert r.status_code == 200, r.text
        files = r.json()
        ids = {f["id"] for f in files}
        total = sum(f["size"] for f in files)
        sizes[u.username] = total
        # Usage is the sum of the files, by both routes that report it.
        usage = inst.api.get("/api/fs/usage", token=token).json()
        assert usage["used_bytes"] == total and usage["files"] == len(files), (usage, total)
        me = inst.api.get("/api/me", token=token).json()
        assert me["usage"]["used_bytes"] == total, me
        # Acknowledged means kept: every upload that answered 200 is there
        # unless a delete of it was sent; every acknowledged delete stuck.
        missing = w.acked_raw - w.acked_deleted - w.unsure_deletes - ids
        assert not missing, f"acknowledged uploads lost: {sorted(missing)}"
        back = w.acked_deleted & ids
        assert not back, f"acknowledged deletes undone: {sorted(back)}"
        # Every file reads back whole and verified.
        for f in files:
            r = inst.api.get(f"/api/files/{f['id']}/download", token=token, timeout=30)
            assert r.status_code == 200, (f, r.status_code, r.text[:200])
            assert hashlib.sha256(r.content).hexdigest() == f["sha256"], f
        # The tree points only at listed files.
        stack = ["/"]
        while stack:
            path = stack.pop()
            r = inst.api.get("/api/fs/ls", token=token, params={"path": path})
            assert r.status_code == 200, (path, r.text)
            for e in r.json():
                child = path.rstrip("/") + "/" + e["name"]
                if e["type"] == "folder":
                    stack.append(child)
                else:
                    assert e.get("id") in ids, (child, e)

    # The database and the chunk store agree.
    root = os.path.join(inst.data_dir, "chunks")
    db = sqlite3.connect(f"file:{os.path.join(inst.data_dir, 'nexus.db')}?mode=ro", uri=True)
    try:
        referenced = dict(db.execute("SELECT hash, size FROM chunks"))
        refcounts = dict(db.execute("SELECT hash, refcount FROM chunks"))
        links = dict(db.execute("SELECT hash, COUNT(*) FROM file_chunks GROUP BY hash"))
        per_owner = dict(db.execute("SELECT owner, SUM(size) FROM files GROUP BY owner"))
        tiles = db.execute(
            "SELECT f.id FROM files f LEFT JOIN file_chunks c ON c.file_id = f.id"
            " GROUP BY f.id HAVING COALESCE(SUM(c.size), 0) != MAX(f.size)").fetchall()
    finally:
        db.close()
    assert refcounts == links, "refcounts differ from the chunk lists"
    assert not tiles, f"files whose chunks do not add up to their size: {tiles}"
    for name, total in sizes.items():
        assert per_owner.get(name, 0) == total, (name, per_owner.get(name), total)
    chunks, temps = chunk_files(root)
    assert not temps, f"temp files left after the start-up sweep: {temps}"
    missing = set(referenced) - set(chunks)
    assert not missing, f"referenced chunks missing: {sorted(missing)[:5]}"
    stray = set(chunks) - set(referenced)
    assert not stray, f"unreferenced chunk files left after the sweep: {sorted(stray)[:5]}"
    for h, path in chunks.items():
        assert os.path.getsize(path) == referenced[h], h
        assert sha256_file(path) == h, f"chunk {h} does not hash to its name"
    log = inst.logs()["nexusd"]
    assert "DATA LOSS" not in log
    sweeps = re.findall(r"storage sweep: removed (\d+) temp files and (\d+) unreferenced chunks", log)
    assert len(sweeps) >= KILLS + 1, len(sweeps)
    # The kills landed mid-upload: some start-up sweeps had leftovers to take.
    assert sum(int(t) + int(c) for t, c in sweeps) > 0, sweeps
