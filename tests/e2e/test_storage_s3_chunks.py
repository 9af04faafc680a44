"""Chunks on S3: instance A keeps its chunk bytes in a bucket of instance B,
a second Nexus whose own S3 listener ([s3] listen) is the store
([storage] chunks = "s3://<bucket>?endpoint=<B's S3 listener>"). What A's
users upload and download goes through A's API as always; what is stored is
looked at, and tampered with, through B's S3 API (boto3), the way any S3
client would see it. A's own chunks directory stays empty throughout."""

import hashlib
import os
import re
import threading
import time

import pytest

import backends
from files_api import MiB, list_files, upload_bytes
from fs_routes import get as fs_get, put_ok as fs_put_ok
from harness import (SETTLE_S, assert_json_error, download_sha256, registered_user, unique,
                     wait_until)
from test_s3 import client as s3_client
from uploads import local_chunk_files

CHUNK_KEY = re.compile(r"^chunks/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")


class Store:
    """B's bucket as an S3 client sees it."""

    def __init__(self, s3, bucket):
        self.s3 = s3
        self.bucket = bucket

    def objects(self):
        """{key: LastModified} under chunks/."""
        return backends.chunk_objects(self.s3, self.bucket)

    def keys(self):
        return set(self.objects())

    def chunk_keys(self):
        """The keys of chunk objects (chunks/ab/cd/<abcd...>)."""
        keys = set()
        for k in self.keys():
            m = CHUNK_KEY.match(k)
            if m and m.group(3).startswith(m.group(1) + m.group(2)):
                keys.add(k)
        return keys


@pytest.fixture(scope="module")
def pair(module_nexus_factory):
    """(A, B, store, A's user): B a default instance holding the bucket, A
    storing its chunks there."""
    b = module_nexus_factory(name="s3store")
    owner = registered_user(b, "owner")
    r = b.api.post("/api/s3-keys", token=owner.token)
    assert r.status_code == 201, r.text
    key = r.json()
    bucket = unique("chunks-")
    s3 = s3_client(b, key["access_key"], key["secret_key"])
    s3.create_bucket(Bucket=bucket)

    a = module_nexus_factory(name="s3chunks", start=False)
    secret_file = os.path.join(a.data_dir, "s3.secret")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key["secret_key"] + "\n")
    a.env.update({
        "NEXUS_STORAGE_CHUNKS":
            f"s3://{bucket}?endpoint=http://127.0.0.1:{b.s3_port}&region=us-east-1",
        "NEXUS_STORAGE_S3_ACCESS_KEY": key["access_key"],
        "NEXUS_STORAGE_S3_SECRET_KEY_FILE": secret_file,
        # Three tries keep the "B is down" test short; the backoff still runs.
        "NEXUS_STORAGE_S3_MAX_ATTEMPTS": "3",
    })
    a.start()
    user = registered_user(a, "alice")
    yield a, b, Store(s3, bucket), user
    # The module's instances (and B's bucket with them) go with the factory.


@pytest.fixture
def s3pair(pair, attach_logs):
    a, b, store, user = pair
    attach_logs(a)
    attach_logs(b)
    for inst in (a, b):
        dead = {n: p.returncode for n, p in inst.procs.items() if p.poll() is not None}
        if dead:
            pytest.fail(f"{inst.label} services exited: {dead}", pytrace=False)
    return pair


def _download(a, user, f):
    return download_sha256(a.api, user.token, f"/api/files/{f['id']}/download")


def _delete(a, user, f):
    r = a.api.request("DELETE", f"/api/files/{f['id']}", token=user.token)
    assert r.status_code in (200, 204), r.text


def test_files_round_trip_through_the_bucket_and_deduplicate_there(s3pair):
    a, b, store, user = s3pair
    before = store.chunk_keys()
    data = os.urandom(5 * MiB + 123)
    f = upload_bytes(a, user, data, "on-s3.bin")
    mine = store.chunk_keys() - before
    assert len(mine) >= 2, f"a 5 MiB upload stored {len(mine)} chunk objects"
    assert local_chunk_files(a) == 0, "A wrote chunks to its own disk"

    r, digest, n = _download(a, user, f)
    assert r.status_code == 200, r.text
    assert (digest, n) == (hashlib.sha256(data).hexdigest(), len(data))
    # Each object holds exactly the bytes its name is the hash of.
    some = sorted(mine)[0]
    body = store.s3.get_object(Bucket=store.bucket, Key=some)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == some.rsplit("/", 1)[1]

    # The same bytes again, as another file: no new object, and none PUT
    # again (S3 times step by seconds: a second PUT would show).
    stamps = {k: t for k, t in store.objects().items() if k in mine}
    time.sleep(1.1)
    g = upload_bytes(a, user, data, "again.bin")
    assert store.chunk_keys() - before == mine
    assert {k: t for k, t in store.objects().items() if k in mine} == stamps
    r, digest, _ = _download(a, user, g)
    assert r.status_code == 200 and digest == hashlib.sha256(data).hexdigest()

    # Deleting one copy keeps the shared chunks; deleting both takes them.
    _delete(a, user, f)
    assert store.chunk_keys() >= mine
    _delete(a, user, g)
    wait_until(lambda: not (store.chunk_keys() & mine), SETTLE_S,
               "the deleted files' chunk objects are still in the bucket")


def test_the_fs_api_stores_and_serves_from_the_bucket(s3pair):
    a, b, store, user = s3pair
    before = store.chunk_keys()
    data = os.urandom(3 * MiB)
    path = "/" + unique("s3dir") + ".bin"
    fs_put_ok(a, user, path, data)
    mine = store.chunk_keys() - before
    assert mine, "an /api/fs upload stored no chunk object"
    r = fs_get(a, user, path)
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
    r = a.api.request("DELETE", "/api/fs/delete", token=user.token, params={"path": path})
    assert r.status_code in (200, 204), r.text
    wait_until(lambda: not (store.chunk_keys() & mine), SETTLE_S,
               "the deleted file's chunk objects are still in the bucket")
    assert local_chunk_files(a) == 0


@pytest.mark.parametrize("tamper", ["same size", "other size"])
def test_a_tampered_chunk_object_is_never_served(s3pair, tamper):
    a, b, store, user = s3pair
    before = store.chunk_keys()
    data = os.urandom(3 * MiB)
    f = upload_bytes(a, user, data, "rotten.bin")
    mine = store.chunk_keys() - before
    assert mine
    # Behind A's back, through B's S3 API: other bytes under every chunk's name.
    for key in mine:
        body = store.s3.get_object(Bucket=store.bucket, Key=key)["Body"].read()
        other = bytes([body[0] ^ 0xFF]) + body[1:] if tamper == "same size" else body[:-1]
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=other)
    for headers in ({}, {"Range": "bytes=0-0"}):
        r = a.api.get(f"/api/files/{f['id']}/download", token=user.token, headers=headers)
        body = assert_json_error(r, 500)
        assert f["id"] not in r.text and not re.search(r"[0-9a-f]{64}", r.text), body
    wait_until(lambda: "DATA LOSS" in a.logs()["nexusd"], SETTLE_S,
               "A's nexusd did not log the corrupt chunk")
    hashes = {k.rsplit("/", 1)[1] for k in mine}
    assert any(h in a.logs()["nexusd"] for h in hashes)
    _delete(a, user, f)
    wait_until(lambda: not (store.chunk_keys() & mine), SETTLE_S,
               "the corrupt file's chunk objects are still in the bucket")


def test_an_unreachable_store_fails_the_upload_cleanly_and_leaves_nothing(s3pair):
    a, b, store, user = s3pair
    stored = upload_bytes(a, user, os.urandom(1 * MiB), "stored.bin")
    before_keys = store.chunk_keys()
    before_files = [x["id"] for x in list_files(a, user)]
    losses = a.logs()["nexusd"].count("DATA LOSS")
    b.stop_service("nexus-api")
    try:
        # A download fails too, and is no data loss: the bytes are still there.
        r = a.api.get(f"/api/files/{stored['id']}/download", token=user.token, timeout=60)
        assert 500 <= r.status_code < 600, f"{r.status_code} {r.text[:300]}"
        assert str(b.s3_port) not in r.text and "chunks/" not in r.text, r.text
        assert a.logs()["nexusd"].count("DATA LOSS") == losses
        r = a.api.post("/api/files/upload", token=user.token,
                       files={"file": ("lost.bin", os.urandom(2 * MiB))}, timeout=60)
        assert 500 <= r.status_code < 600, f"{r.status_code} {r.text[:300]}"
        # What failed, not where: B's address and the object key stay in A's log.
        assert "chunk store unavailable" in r.json()["error"], r.text
        assert str(b.s3_port) not in r.text and "chunks/" not in r.text, r.text
        assert not re.search(r"[0-9a-f]{64}", r.text), r.text  # nor the chunk's hash
        assert [x["id"] for x in list_files(a, user)] == before_files
        assert a.api.get("/healthz").status_code == 200
    finally:
        b.start_service("nexus-api")
        b.wait_healthy()
    assert store.chunk_keys() == before_keys
    assert local_chunk_files(a) == 0
    # And A works again as soon as B is back.
    r = a.api.get(f"/api/files/{stored['id']}/download", token=user.token)
    assert r.status_code == 200, r.text
    _delete(a, user, stored)
    data = os.urandom(1 * MiB)
    f = upload_bytes(a, user, data, "back.bin")
    r, digest, _ = _download(a, user, f)
    assert r.status_code == 200 and digest == hashlib.sha256(data).hexdigest()
    _delete(a, user, f)


def _restart_nexusd(a, **env):
    """Restarts A's nexusd with `env` added; its start-up sweep runs before
    it serves, one DELETE per orphan."""
    a.env.update(env)
    a.stop_service("nexusd")
    a.start_service("nexusd")
    a.wait_healthy(timeout=60)


def test_the_start_up_sweep_takes_only_unreferenced_chunks_older_than_the_grace(s3pair):
    a, b, store, user = s3pair
    kept = os.urandom(1 * MiB)
    f = upload_bytes(a, user, kept, "kept.bin")
    referenced = store.chunk_keys()
    # Left over as by a daemon that died mid-upload: a chunk no file
    # references, and beside it an object that is no chunk of this layout.
    orphan = os.urandom(4096)
    h = hashlib.sha256(orphan).hexdigest()
    orphan_key = f"chunks/{h[:2]}/{h[2:4]}/{h}"
    store.s3.put_object(Bucket=store.bucket, Key=orphan_key, Body=orphan)
    store.s3.put_object(Bucket=store.bucket, Key="chunks/notes.txt", Body=b"not a chunk")
    try:
        # The default hour of grace: the young orphan may be another daemon's upload.
        _restart_nexusd(a)
        assert orphan_key in store.keys()
        wait_until(lambda: "younger than 3600 s" in a.logs()["nexusd"], SETTLE_S,
                   "the sweep did not say it kept a young chunk")
        # No grace: it goes; the referenced chunks and the stranger stay.
        _restart_nexusd(a, NEXUS_STORAGE_S3_SWEEP_GRACE_SECONDS="0")
        keys = store.keys()
        assert orphan_key not in keys
        assert "chunks/notes.txt" in keys
        assert referenced <= keys
    finally:
        a.env.pop("NEXUS_STORAGE_S3_SWEEP_GRACE_SECONDS", None)
        _restart_nexusd(a)
        store.s3.delete_object(Bucket=store.bucket, Key="chunks/notes.txt")
    r, digest, _ = _download(a, user, f)
    assert r.status_code == 200 and digest == hashlib.sha256(kept).hexdigest()
    _delete(a, user, f)


def test_a_store_back_within_the_retries_loses_no_upload(s3pair):
    a, b, store, user = s3pair
    data = os.urandom(2 * MiB)
    result = {}

    def send():
        result["r"] = a.api.post("/api/files/upload", token=user.token,
                                 files={"file": ("patient.bin", data)}, timeout=60)
    try:
        # Eight tries: about 10 s of backoff in all, time enough for B to come back.
        _restart_nexusd(a, NEXUS_STORAGE_S3_MAX_ATTEMPTS="8")
        b.stop_service("nexus-api")
        sender = threading.Thread(target=send)
        sender.start()
        wait_until(lambda: "attempt 2/8 failed" in a.logs()["nexusd"], SETTLE_S,
                   "A's nexusd did not retry")
        b.start_service("nexus-api")
        b.wait_healthy()
        sender.join(60)
        r = result["r"]
        assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    finally:
        if "nexus-api" not in b.procs:
            b.start_service("nexus-api")
            b.wait_healthy()
        a.env["NEXUS_STORAGE_S3_MAX_ATTEMPTS"] = "3"
        _restart_nexusd(a)
    f = r.json()
    got, digest, n = _download(a, user, f)
    assert got.status_code == 200 and (digest, n) == (hashlib.sha256(data).hexdigest(), len(data))
    _delete(a, user, f)


def test_the_sweep_pages_through_more_objects_than_one_listing_holds(s3pair):
    a, b, store, user = s3pair
    from concurrent.futures import ThreadPoolExecutor
    # 1,001 orphans: two pages of ListObjectsV2, the second by continuation token.
    orphans = []
    for i in range(1001):
        body = b"orphan %d " % i + os.urandom(16)
        h = hashlib.sha256(body).hexdigest()
        orphans.append((f"chunks/{h[:2]}/{h[2:4]}/{h}", body))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kb: store.s3.put_object(Bucket=store.bucket, Key=kb[0], Body=kb[1]),
                      orphans))
    assert {k for k, _ in orphans} <= store.chunk_keys()
    try:
        _restart_nexusd(a, NEXUS_STORAGE_S3_SWEEP_GRACE_SECONDS="0")
    finally:
        a.env.pop("NEXUS_STORAGE_S3_SWEEP_GRACE_SECONDS", None)
        _restart_nexusd(a)
    assert not ({k for k, _ in orphans} & store.chunk_keys())
