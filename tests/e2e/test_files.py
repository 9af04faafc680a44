"""The raw Files API: streamed upload with dedup, listing, metadata, ranged
download with the right headers, delete, isolation between users, and what
a broken or hostile upload leaves behind (nothing) — through the public HTTP
API, with the chunk store on disk as the witness."""

import hashlib
import os
import re
import signal
import socket
import struct
import time
import urllib.parse

import pytest

from harness import (MultipartBody, assert_json_error, chunk_count, chunk_paths, download_sha256,
                     random_file, registered_user, upload, wait_until)

KiB = 1 << 10
MiB = 1 << 20
UPLOAD = "/api/files/upload"
FILE_FIELDS = {"id", "name", "size", "chunks_count", "status", "created_at", "sha256"}
# How long a released chunk may take to disappear from disk (removal runs
# after the commit, possibly on another thread).
SETTLE_S = 10


def upload_bytes(inst, user, data, name="data.bin"):
    r = upload(inst.api, user.token, UPLOAD, [("file", name, data)])
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    return r.json()


def list_files(inst, user):
    r = inst.api.get("/api/files", token=user.token)
    assert r.status_code == 200, r.text
    files = r.json()
    assert isinstance(files, list), files
    return files


def settled_chunk_count(inst, expected, what):
    """Waits (bounded) until the chunk store holds `expected` files."""
    wait_until(lambda: chunk_count(inst) == expected, SETTLE_S,
               f"{what}: chunk files {chunk_count(inst)} != {expected}")


def content_disposition_name(header):
    """The file name a browser would take from a Content-Disposition value
    (filename*= wins over filename=), after checking the value is safe."""
    assert "\r" not in header and "\n" not in header, repr(header)
    assert re.match(r"^attachment\s*(;|$)", header, re.I), header
    star = re.search(r"filename\*\s*=\s*([^;]+)", header, re.I)
    if star:
        value = star.group(1).strip()
        charset, _, encoded = value.partition("''")
        assert charset.lower() == "utf-8", header
        # RFC 5987 attr-char only: a decoded value cannot smuggle anything.
        assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]*", encoded), header
        return urllib.parse.unquote(encoded, errors="strict")
    plain = re.search(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"', header, re.I)
    assert plain, f"no filename in {header!r}"
    return re.sub(r"\\(.)", r"\1", plain.group(1))


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


# ---------------------------------------------------------------- download headers and ranges


@pytest.fixture
def five_mib(nexus, alice):
    data = os.urandom(5 * MiB + 7)
    info = upload_bytes(nexus, alice, data, "ranged.bin")
    return data, info, f"/api/files/{info['id']}/download"


def test_a_download_carries_length_type_disposition_etag_and_accept_ranges(nexus, alice,
                                                                           five_mib):
    data, info, url = five_mib
    r = nexus.api.get(url, token=alice.token, timeout=30)
    assert r.status_code == 200, r.text
    h = r.headers
    assert h.get("Content-Length") == str(len(data))
    assert h.get("Content-Type", "").split(";")[0].strip() == "application/octet-stream"
    assert content_disposition_name(h.get("Content-Disposition", "")) == "ranged.bin"
    assert h.get("ETag") == '"' + hashlib.sha256(data).hexdigest() + '"'
    assert h.get("Accept-Ranges") == "bytes"
    assert r.content == data


RANGES = [
    # (Range header, lambda n -> (first, last) byte positions)
    ("bytes=0-0", lambda n: (0, 0)),
    ("bytes={last}-{last}", lambda n: (n - 1, n - 1)),
    # 2.2 MB: usually spans a boundary of the 1 MiB-average chunks (exact cases are unit-tested)
    ("bytes=1000000-3200000", lambda n: (1000000, 3200000)),
    ("bytes=-500", lambda n: (n - 500, n - 1)),
    ("bytes={tail}-", lambda n: (n - 10, n - 1)),
    ("bytes=5-{beyond}", lambda n: (5, n - 1)),  # a last byte past the end is clipped
]


@pytest.mark.parametrize("spec,expect", RANGES, ids=[s for s, _ in RANGES])
def test_a_single_range_is_a_206_with_content_range(nexus, alice, five_mib, spec, expect):
    data, _, url = five_mib
    n = len(data)
    header = spec.format(last=n - 1, tail=n - 10, beyond=n + 1000)
    first, last = expect(n)
    r = nexus.api.get(url, token=alice.token, headers={"Range": header}, timeout=30)
    assert r.status_code == 206, f"{header}: {r.status_code} {r.text[:200]}"
    assert r.headers.get("Content-Range") == f"bytes {first}-{last}/{n}", r.headers
    assert r.headers.get("Content-Length") == str(last - first + 1)
    assert r.content == data[first:last + 1]


@pytest.mark.parametrize("spec", ["bytes={n}-", "bytes={n}-{more}", "bytes=-0"])
def test_an_unsatisfiable_range_is_a_416(nexus, alice, five_mib, spec):
    data, _, url = five_mib
    n = len(data)
    r = nexus.api.get(url, token=alice.token, headers={"Range": spec.format(n=n, more=n + 5)})
    assert r.status_code == 416, f"{spec}: {r.status_code} {r.text[:200]}"
    assert r.headers.get("Content-Range") == f"bytes */{n}", r.headers


def test_any_range_of_an_empty_file_is_a_416(nexus, alice):
    info = upload_bytes(nexus, alice, b"", "empty")
    r = nexus.api.get(f"/api/files/{info['id']}/download", token=alice.token,
                      headers={"Range": "bytes=0-0"})
    assert r.status_code == 416, r.text


# ---------------------------------------------------------------- isolation


def test_another_user_sees_nothing_of_yours(nexus, alice, bob):
    info = upload_bytes(nexus, alice, os.urandom(2048), "private.txt")
    fid = info["id"]
    assert list_files(nexus, bob) == []
    assert_json_error(nexus.api.get(f"/api/files/{fid}", token=bob.token), 404)
    assert_json_error(nexus.api.get(f"/api/files/{fid}/download", token=bob.token), 404)
    assert_json_error(nexus.api.get(f"/api/files/{fid}/download", token=bob.token,
                                    headers={"Range": "bytes=0-0"}), 404)
    assert_json_error(nexus.api.request("DELETE", f"/api/files/{fid}", token=bob.token), 404)
    # Still there for its owner.
    assert nexus.api.get(f"/api/files/{fid}", token=alice.token).status_code == 200


def test_every_files_route_needs_a_token(nexus, alice):
    info = upload_bytes(nexus, alice, b"x", "x")
    fid = info["id"]
    body = MultipartBody([("file", "x", b"x")])
    assert_json_error(nexus.api.post(UPLOAD, data=body, headers={"Content-Type":
                                                                 body.content_type}), 401)
    for method, path in (("GET", "/api/files"), ("GET", f"/api/files/{fid}"),
                         ("GET", f"/api/files/{fid}/download"), ("DELETE", f"/api/files/{fid}")):
        assert_json_error(nexus.api.request(method, path), 401)


# ---------------------------------------------------------------- bad uploads


def test_an_upload_without_a_file_part_is_a_400(nexus, alice):
    before = len(list_files(nexus, alice))
    r = upload(nexus.api, alice.token, UPLOAD, [("other", None, b"value")])
    assert_json_error(r, 400)
    r = upload(nexus.api, alice.token, UPLOAD, [("files", "x.bin", b"data")])
    assert_json_error(r, 400)
    assert len(list_files(nexus, alice)) == before


def test_a_body_that_is_not_multipart_is_a_400(nexus, alice):
    before = len(list_files(nexus, alice))
    for ctype, body in (("application/json", b'{"file": "x"}'),
                        ("application/octet-stream", b"raw bytes"), ("text/plain", b"x")):
        r = nexus.api.post(UPLOAD, token=alice.token, data=body, headers={"Content-Type": ctype})
        assert_json_error(r, 400)
    r = nexus.api.post(UPLOAD, token=alice.token, data=b"no type at all")
    assert_json_error(r, 400)
    assert len(list_files(nexus, alice)) == before


def test_a_malformed_multipart_body_is_a_400(nexus, alice):
    before = len(list_files(nexus, alice))
    good = MultipartBody([("file", "x.bin", b"hello")])
    raw = good.to_bytes()
    cases = [
        ("multipart/form-data", raw),  # no boundary parameter
        ("multipart/form-data; boundary=", raw),
        ("multipart/form-data; boundary=other-boundary", raw),  # body does not use it
        (good.content_type, raw[: len(raw) // 2]),  # ends before the closing delimiter
        (good.content_type, b"garbage without any delimiter"),
        (good.content_type, raw.replace(b"Content-Disposition", b"Content-Dispo\x00sition", 1)),
    ]
    for ctype, body in cases:
        r = nexus.api.post(UPLOAD, token=alice.token, data=body, headers={"Content-Type": ctype})
        assert_json_error(r, 400)
    assert len(list_files(nexus, alice)) == before


def test_a_client_that_disconnects_mid_upload_leaves_no_row_and_no_chunk(nexus, alice):
    before_chunks = chunk_count(nexus)
    before_files = len(list_files(nexus, alice))
    body = MultipartBody([("file", "cut.bin", os.urandom(6 * MiB))])
    head = (f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            f"Content-Type: {body.content_type}\r\nContent-Length: {64 * MiB}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", nexus.port), timeout=10) as s:
        # Linger 0: close() resets the connection, as a killed client's kernel would.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(head.encode())
        sent = 0
        while sent < 5 * MiB:  # several chunks' worth (512 KiB to 8 MiB each) of new content
            block = body.read(256 * 1024)
            s.sendall(block)
            sent += len(block)
        # The cut comes once chunks of this upload are on disk, so their
        # removal is what the rest checks.
        wait_until(lambda: chunk_count(nexus) > before_chunks, SETTLE_S,
                   "no chunk file appeared while the upload streamed")
    settled_chunk_count(nexus, before_chunks, "after a client hung up mid-upload")
    assert len(list_files(nexus, alice)) == before_files
    assert nexus.api.get("/healthz").status_code == 200


def test_a_corrupt_chunk_is_a_generic_500_and_logged_loudly(nexus, alice):
    before = chunk_paths(nexus)
    data = os.urandom(3 * MiB)
    f = upload_bytes(nexus, alice, data, "rotten.bin")
    mine = chunk_paths(nexus) - before
    assert mine, "the upload stored no chunk file"
    # Bit rot behind the store's back: one byte flipped in each of its chunks,
    # so the first chunk read fails verification.
    for path in mine:
        with open(path, "r+b") as fh:
            b = fh.read(1)
            fh.seek(0)
            fh.write(bytes([b[0] ^ 0xFF]))
    for headers in ({}, {"Range": "bytes=0-0"}, {"Range": "bytes=-1"}):
        r = nexus.api.get(f"/api/files/{f['id']}/download", token=alice.token, headers=headers)
        body = assert_json_error(r, 500)
        # Generic: no chunk hash, file id or path reaches the client.
        assert f["id"] not in r.text and not re.search(r"[0-9a-f]{64}", r.text), body
        assert "chunk" not in body["error"].lower(), body
    wait_until(lambda: "DATA LOSS" in nexus.logs()["nexusd"], SETTLE_S,
               "nexusd did not log the corrupt chunk")
    assert any(os.path.basename(p) in nexus.logs()["nexusd"] for p in mine)
    r = nexus.api.request("DELETE", f"/api/files/{f['id']}", token=alice.token)
    assert r.status_code in (200, 204), r.text
    wait_until(lambda: not (chunk_paths(nexus) & mine), SETTLE_S,
               "the corrupt file's chunks were not released")


def test_a_daemon_killed_mid_upload_sweeps_the_leftovers_when_it_starts_again(nexus_factory):
    inst = nexus_factory(name="crash")
    user = registered_user(inst, "crash")
    kept = os.urandom(2 * MiB)
    f = upload_bytes(inst, user, kept, "kept.bin")
    committed = chunk_paths(inst)

    body = MultipartBody([("file", "lost.bin", os.urandom(6 * MiB))])
    head = (f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {user.token}\r\n"
            f"Content-Type: {body.content_type}\r\nContent-Length: {64 * MiB}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as s:
        s.sendall(head.encode())
        sent = 0
        while sent < 5 * MiB:  # the part's head and its 6 MiB, not the closing delimiter
            block = body.read(256 * KiB)
            s.sendall(block)
            sent += len(block)
        wait_until(lambda: len(chunk_paths(inst) - committed) > 0, SETTLE_S,
                   "no chunk file appeared while the upload streamed")
        # A crash: no cleanup runs, the stored chunks stay behind.
        inst.stop_service("nexusd", signal.SIGKILL)
    assert chunk_paths(inst) - committed, "the killed upload left nothing to sweep"

    inst.start_service("nexusd")
    inst.wait_healthy()
    # The start-up sweep removed every chunk and temp file no committed row
    # references, and kept the committed file's chunks.
    wait_until(lambda: chunk_paths(inst) == committed, SETTLE_S,
               f"left after the restart: {sorted(chunk_paths(inst) - committed)}")
    assert "DATA LOSS" not in inst.logs()["nexusd"]
    assert [x["id"] for x in list_files(inst, user)] == [f["id"]]
    r, digest, n = download_sha256(inst.api, user.token, f"/api/files/{f['id']}/download")
    assert r.status_code == 200 and n == len(kept)
    assert digest == hashlib.sha256(kept).hexdigest()


def test_a_client_that_half_closes_mid_upload_stores_nothing(nexus, alice):
    # As above, but the client ends its side cleanly (FIN) in the middle of
    # the file part and waits for an answer.
    before_chunks = chunk_count(nexus)
    before_files = len(list_files(nexus, alice))
    multipart = MultipartBody([("file", "short.bin", os.urandom(4 * MiB))])
    body = multipart.to_bytes()
    cut = body[:3 * MiB]  # no closing delimiter: the file part is unfinished
    head = (f"POST {UPLOAD} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            f"Content-Type: {multipart.content_type}\r\nContent-Length: {len(body)}\r\n\r\n")
    answer = b""
    with socket.create_connection(("127.0.0.1", nexus.port), timeout=10) as s:
        s.sendall(head.encode() + cut)
        s.shutdown(socket.SHUT_WR)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:300]
    settled_chunk_count(nexus, before_chunks, "after a half-closed upload")
    assert len(list_files(nexus, alice)) == before_files


# ---------------------------------------------------------------- hostile names


NAMES = [
    # (name as sent via filename=, via filename*=, must not contain)
    ("../../etc/passwd", None),
    ("..\\..\\windows\\win.ini", None),
    ("x", "a\r\nb"),
    ("x", "evil\"; filename=\"other.exe"),
    ("x", "r\u00e9sum\u00e9 \u00fc \u6587\u4ef6.txt"),
    ("x", "tab\there\x00nul"),
    ("..", None),
]


@pytest.mark.parametrize("plain,star", NAMES, ids=[repr(star or p) for p, star in NAMES])
def test_hostile_names_are_stored_safely_and_served_with_a_safe_disposition(nexus, alice, plain,
                                                                          star):
    data = os.urandom(100)
    r = upload(nexus.api, alice.token, UPLOAD, [("file", plain, data, star)])
    assert r.status_code == 200, r.text
    info = r.json()
    name = info["name"]
    sent = star if star is not None else plain
    assert name, info
    for bad in ("/", "\\", "\r", "\n", "\x00", "\t"):
        assert bad not in name, f"{sent!r} stored as {name!r}"
    assert name not in (".", ".."), name
    if star is not None and "\u00e9" in star:
        assert name == star, "a harmless UTF-8 name is kept as sent"

    listed = [f for f in list_files(nexus, alice) if f["id"] == info["id"]]
    assert [f["name"] for f in listed] == [name]
    d = nexus.api.get(f"/api/files/{info['id']}/download", token=alice.token)
    assert d.status_code == 200, d.text
    assert d.content == data
    assert content_disposition_name(d.headers.get("Content-Disposition", "")) == name
