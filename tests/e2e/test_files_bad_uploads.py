"""The raw Files API: what a broken upload leaves behind (nothing) — a
missing file part, a body that is not multipart or is malformed, a client
that disconnects or half-closes, a daemon killed mid-upload — and a corrupt
chunk on download."""

import hashlib
import os
import re
import signal
import socket
import struct

import pytest

from files_api import KiB, MiB, UPLOAD, list_files, upload_bytes
from harness import (MultipartBody, SETTLE_S, assert_json_error, chunk_count, chunk_paths,
                     download_sha256, registered_user, settled_chunk_count, upload, wait_until)


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


@pytest.mark.local_store
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


@pytest.mark.local_store
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
