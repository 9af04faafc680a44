"""The per-user file tree: usage, and the storage quota on uploads
(refused, replacing, in parallel) on an instance with a 10 MiB quota."""

import concurrent.futures
import os
import threading

import pytest

from fs_routes import MiB, get, ls_ok, mkdir, names, put, put_ok, usage
from harness import assert_json_error, chunk_count, registered_user, settled_chunk_count, upload


QUOTA = 10 * MiB


@pytest.fixture(scope="module")
def quota_nexus(module_nexus_factory):
    """An instance whose users may store 10 MiB each (and run the ten parallel
    uploads of the quota race at once, whatever the default share)."""
    return module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA),
                                     "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "16"},
                                name="quota")


@pytest.fixture
def small(quota_nexus, attach_logs):
    attach_logs(quota_nexus)
    return quota_nexus

# ---------------------------------------------------------------- usage and quota


def test_usage_counts_bytes_files_and_folders(nexus, alice):
    u = usage(nexus, alice)
    assert (u["used_bytes"], u["files"], u["folders"]) == (0, 0, 0)
    assert u["quota_bytes"] == 10 * 1024 * MiB  # storage.quota_bytes default
    mkdir(nexus, alice, "/u1/u2")
    put_ok(nexus, alice, "/u1/f", b"x" * 1000)
    put_ok(nexus, alice, "/u1/u2/g", b"y" * 24)
    u = usage(nexus, alice)
    assert (u["used_bytes"], u["files"], u["folders"]) == (1024, 2, 2)


def test_an_upload_over_quota_is_a_507_and_changes_nothing(small):
    user = registered_user(small, "quota")
    assert usage(small, user)["quota_bytes"] == QUOTA
    put_ok(small, user, "/first.bin", os.urandom(6 * MiB))
    before_usage = usage(small, user)
    before_chunks = chunk_count(small)

    assert_json_error(put(small, user, "/second.bin", os.urandom(5 * MiB)), 507)
    assert_json_error(put(small, user, "/big.bin", os.urandom(QUOTA + 1)), 507)
    # The Files API counts against the same quota.
    assert_json_error(upload(small.api, user.token, "/api/files/upload",
                             [("file", "raw.bin", os.urandom(5 * MiB))]), 507)
    # So does a form whose path comes after the file (checked at the commit).
    assert_json_error(upload(small.api, user.token, "/api/fs/upload",
                             [("file", "late.bin", os.urandom(5 * MiB)),
                              ("path", None, b"/late.bin")]), 507)

    settled_chunk_count(small, before_chunks, "after refused uploads")
    assert usage(small, user) == before_usage
    assert names(ls_ok(small, user, "/")) == [("first.bin", "file")]


def test_replacing_a_file_counts_the_old_size_as_freed(small):
    user = registered_user(small, "replace")
    put_ok(small, user, "/f.bin", os.urandom(6 * MiB))
    data = os.urandom(9 * MiB)
    put_ok(small, user, "/f.bin", data)  # 9 MiB in place of 6: fits in 10
    assert usage(small, user)["used_bytes"] == 9 * MiB
    assert get(small, user, "/f.bin", timeout=30).content == data
    # The same when the path comes after the file.
    data = os.urandom(8 * MiB)
    r = upload(small.api, user.token, "/api/fs/upload",
               [("file", "f.bin", data), ("path", None, b"/f.bin")], timeout=60)
    assert r.status_code == 200, r.text
    assert usage(small, user)["used_bytes"] == 8 * MiB
    assert get(small, user, "/f.bin", timeout=30).content == data


def test_a_refused_upload_leaves_the_file_it_would_replace(small):
    user = registered_user(small, "keepold")
    old = os.urandom(MiB)
    put_ok(small, user, "/f.bin", old)
    assert_json_error(put(small, user, "/f.bin", os.urandom(QUOTA + MiB)), 507)
    assert get(small, user, "/f.bin").content == old


def test_parallel_uploads_never_store_more_than_the_quota(small):
    user = registered_user(small, "race")
    size = 2 * MiB + 1  # four fit in 10 MiB, five do not
    blobs = [os.urandom(size) for _ in range(10)]
    before_chunks = chunk_count(small)
    samples, errors, stop = [], [], threading.Event()

    def sample():
        while not stop.is_set():
            r = small.api.get("/api/fs/usage", token=user.token)
            if r.status_code == 200:
                samples.append(r.json()["used_bytes"])
            else:
                errors.append((r.status_code, r.text[:200]))
            stop.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda i: put(small, user, f"/p/{i}.bin", blobs[i]),
                                    range(10)))
    finally:
        stop.set()
        sampler.join()

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 4 + [507] * 6, [(r.status_code, r.text[:100]) for r in results]
    assert not errors, errors
    assert samples and max(samples) <= QUOTA, samples
    u = usage(small, user)
    assert u["used_bytes"] == 4 * size <= QUOTA
    assert u["files"] == 4
    stored = {e["name"] for e in ls_ok(small, user, "/p")}
    for i, r in enumerate(results):
        assert (f"{i}.bin" in stored) == (r.status_code == 200)
        if r.status_code == 200:
            assert get(small, user, f"/p/{i}.bin", timeout=30).content == blobs[i]
    # Every refused upload's chunks are gone: only the stored files' remain.
    files = small.api.get("/api/files", token=user.token).json()
    settled_chunk_count(small, before_chunks + sum(f["chunks_count"] for f in files),
                        "after the race")
