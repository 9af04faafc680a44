"""The raw Files API: streamed upload with dedup, listing, metadata and
delete — through the public HTTP API, with the chunk store on disk as the
witness. Downloads, bad uploads and hostile names have their own
test_files_*.py files."""

import hashlib
import os
import time

import pytest

from files_api import FILE_FIELDS, KiB, MiB, UPLOAD, list_files, upload_bytes
from harness import (MultipartBody, assert_json_error, chunk_count, download_sha256, random_file,
                     settled_chunk_count, upload)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("size", [0, 1, 5 * MiB], ids=["0B", "1B", "5MiB"])
def test_an_upload_downloads_back_byte_identical(nexus, alice, tmp_path, size):
    path, sha = random_file(str(tmp_path), size)
    r = upload(nexus.api, alice.token, UPLOAD, [("file", "blob.bin", path)])
    assert r.status_code == 200, r.text
    info = r.json()
    assert FILE_FIELDS - {"created_at", "sha256"} <= set(info), info
    assert info["name"] == "blob.bin"
    assert info["size"] == size
    assert info["status"] == "Uploaded"
    assert isinstance(info["id"], str) and info["id"]
    if size == 0:
        assert info["chunks_count"] == 0, info
    else:
        assert info["chunks_count"] >= 1, info

    resp, got_sha, count = download_sha256(nexus.api, alice.token,
                                           f"/api/files/{info['id']}/download")
    assert resp.status_code == 200, resp.text
    assert count == size
    assert got_sha == sha


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return kib / 1024


def reset_peak_rss(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size


# Streamed, not buffered: neither service's resident memory may grow by
# anything near the file's size. The bound leaves room for gRPC's buffers and
# the chunk writer's queue; a whole 200 MiB file held in memory breaks it.
PEAK_RSS_BOUND_MIB = 150


def test_a_200_mib_upload_streams_both_ways(nexus, alice, tmp_path):
    size = 200 * MiB
    path, sha = random_file(str(tmp_path), size)
    services = ("nexus-api", "nexusd")
    for name in services:
        reset_peak_rss(nexus.procs[name].pid)
    start = time.monotonic()
    r = upload(nexus.api, alice.token, UPLOAD, [("file", "big.bin", path)], timeout=300)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["size"] == size
    # FastCDC bounds: 512 KiB minimum, 8 MiB maximum chunk (storage defaults).
    assert size // (8 * MiB) <= info["chunks_count"] <= size // (512 * KiB), info
    os.remove(path)  # the download is compared by hash only

    resp, got_sha, count = download_sha256(nexus.api, alice.token,
                                           f"/api/files/{info['id']}/download", timeout=300)
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("Content-Length") == str(size)
    assert (count, got_sha) == (size, sha)
    assert time.monotonic() - start < 300
    peaks = {name: peak_rss_mib(nexus.procs[name].pid) for name in services}
    assert all(v < PEAK_RSS_BOUND_MIB for v in peaks.values()), peaks


def test_a_chunked_request_body_without_content_length_is_accepted(nexus, alice):
    data = os.urandom(3 * MiB + 17)
    body = MultipartBody([("file", "chunked.bin", data)])
    r = nexus.api.post(UPLOAD, token=alice.token, data=body.chunks(64 * 1024),
                       headers={"Content-Type": body.content_type}, timeout=60)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200, r.text
    got = nexus.api.get(f"/api/files/{r.json()['id']}/download", token=alice.token, timeout=60)
    assert got.content == data


def test_the_same_content_twice_adds_no_chunk_files(nexus, alice, tmp_path):
    path, sha = random_file(str(tmp_path), 6 * MiB + 123)
    first = upload(nexus.api, alice.token, UPLOAD, [("file", "one.bin", path)])
    assert first.status_code == 200, first.text
    after_first = chunk_count(nexus)
    second = upload(nexus.api, alice.token, UPLOAD, [("file", "two.bin", path)])
    assert second.status_code == 200, second.text
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["chunks_count"] == first.json()["chunks_count"]
    assert chunk_count(nexus) == after_first
    for info in (first.json(), second.json()):
        _, got, _ = download_sha256(nexus.api, alice.token, f"/api/files/{info['id']}/download")
        assert got == sha


# ---------------------------------------------------------------- list, metadata, delete


def test_the_list_is_the_callers_files_newest_first_with_hash_and_time(nexus, alice):
    datas = [os.urandom(1000 + i) for i in range(3)]
    ids = [upload_bytes(nexus, alice, d, f"f{i}.txt")["id"] for i, d in enumerate(datas)]
    files = list_files(nexus, alice)
    assert [f["id"] for f in files] == list(reversed(ids))
    now = time.time()
    for f, d, i in zip(files, reversed(datas), reversed(range(3))):
        assert FILE_FIELDS <= set(f), f
        assert f["name"] == f"f{i}.txt"
        assert f["size"] == len(d)
        assert f["sha256"] == hashlib.sha256(d).hexdigest()
        assert f["status"] == "Uploaded"
        assert isinstance(f["created_at"], int) and abs(f["created_at"] - now) < 600


def test_metadata_of_one_file(nexus, alice):
    data = os.urandom(4242)
    info = upload_bytes(nexus, alice, data, "meta.dat")
    r = nexus.api.get(f"/api/files/{info['id']}", token=alice.token)
    assert r.status_code == 200, r.text
    meta = r.json()
    assert FILE_FIELDS <= set(meta), meta
    assert (meta["id"], meta["name"], meta["size"]) == (info["id"], "meta.dat", 4242)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()


def test_unknown_ids_are_a_404(nexus, alice):
    for fid in ("00000000-0000-0000-0000-000000000000", "nope"):
        assert_json_error(nexus.api.get(f"/api/files/{fid}", token=alice.token), 404)
        assert_json_error(nexus.api.get(f"/api/files/{fid}/download", token=alice.token), 404)
        assert_json_error(nexus.api.request("DELETE", f"/api/files/{fid}", token=alice.token), 404)


def test_delete_removes_the_file_and_releases_its_chunk_files(nexus, alice, tmp_path):
    before = chunk_count(nexus)
    path, _ = random_file(str(tmp_path), 5 * MiB)
    r = upload(nexus.api, alice.token, UPLOAD, [("file", "gone.bin", path)])
    assert r.status_code == 200, r.text
    info = r.json()
    assert chunk_count(nexus) == before + info["chunks_count"]

    r = nexus.api.request("DELETE", f"/api/files/{info['id']}", token=alice.token)
    assert r.status_code in (200, 204), r.text
    settled_chunk_count(nexus, before, "after delete")
    assert_json_error(nexus.api.get(f"/api/files/{info['id']}", token=alice.token), 404)
    assert_json_error(nexus.api.get(f"/api/files/{info['id']}/download", token=alice.token), 404)
    assert_json_error(nexus.api.request("DELETE", f"/api/files/{info['id']}", token=alice.token),
                      404)
    assert info["id"] not in [f["id"] for f in list_files(nexus, alice)]


def test_deleting_one_of_two_identical_files_keeps_the_shared_chunks(nexus, alice):
    data = os.urandom(3 * MiB)
    a = upload_bytes(nexus, alice, data, "a.bin")
    with_both = chunk_count(nexus)
    b = upload_bytes(nexus, alice, data, "b.bin")
    assert chunk_count(nexus) == with_both
    r = nexus.api.request("DELETE", f"/api/files/{a['id']}", token=alice.token)
    assert r.status_code in (200, 204), r.text
    assert chunk_count(nexus) == with_both
    got = nexus.api.get(f"/api/files/{b['id']}/download", token=alice.token, timeout=30)
    assert got.status_code == 200 and got.content == data
