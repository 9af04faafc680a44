"""The raw Files API: a download's headers, single ranges (satisfiable or
not), and isolation between users on every route."""

import hashlib
import os

import pytest

from files_api import MiB, UPLOAD, content_disposition_name, list_files, upload_bytes
from harness import MultipartBody, assert_json_error


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
