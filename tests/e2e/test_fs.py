"""The per-user file tree (/api/fs/*): mkdir -p, ls, upload to a path,
replace, recursive delete, move, download, usage and quotas, isolation
between users and path traversal — through the public HTTP API, with the
chunk store on disk as the witness of what was stored and freed."""

import concurrent.futures
import hashlib
import os
import threading

import pytest

from harness import (MultipartBody, assert_json_error, chunk_count, raw_request,
                     registered_user, upload, wait_until)

KiB = 1 << 10
MiB = 1 << 20
QUOTA = 10 * MiB
SETTLE_S = 10


@pytest.fixture(scope="module")
def quota_nexus(module_nexus_factory):
    """An instance whose users may store 10 MiB each (and run the ten parallel
    uploads of the quota race, above the default share of 8 at once)."""
    return module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA),
                                     "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "16"},
                                name="quota")


@pytest.fixture
def small(quota_nexus, attach_logs):
    attach_logs(quota_nexus)
    return quota_nexus


# ---------------------------------------------------------------- route helpers


def mkdir(inst, user, path):
    return inst.api.post("/api/fs/mkdir", token=user.token, json={"path": path})


def ls(inst, user, path):
    return inst.api.get("/api/fs/ls", token=user.token, params={"path": path})


def ls_ok(inst, user, path):
    r = ls(inst, user, path)
    assert r.status_code == 200, f"ls {path}: {r.status_code} {r.text[:300]}"
    entries = r.json()
    assert isinstance(entries, list), entries
    return entries


def names(entries):
    return [(e["name"], e["type"]) for e in entries]


def put(inst, user, path, data, timeout=60):
    # The part's filename is not the stored name (the path's last segment is).
    return upload(inst.api, user.token, "/api/fs/upload",
                  [("path", None, path.encode()), ("file", "upload.bin", data)], timeout=timeout)


def put_ok(inst, user, path, data):
    r = put(inst, user, path, data)
    assert r.status_code == 200, f"upload {path}: {r.status_code} {r.text[:300]}"
    return r


def rm(inst, user, path):
    return inst.api.request("DELETE", "/api/fs/delete", token=user.token, params={"path": path})


def mv(inst, user, old, new):
    return inst.api.post("/api/fs/move", token=user.token, json={"old_path": old, "new_path": new})


def get(inst, user, path, **kw):
    return inst.api.get("/api/fs/download", token=user.token, params={"path": path}, **kw)


def usage(inst, user):
    r = inst.api.get("/api/fs/usage", token=user.token)
    assert r.status_code == 200, r.text
    u = r.json()
    assert {"used_bytes", "quota_bytes", "files", "folders"} <= set(u), u
    return u


def settled_chunk_count(inst, expected, what):
    wait_until(lambda: chunk_count(inst) == expected, SETTLE_S,
               f"{what}: chunk files {chunk_count(inst)} != {expected}")


# ---------------------------------------------------------------- mkdir and ls


def test_mkdir_answers_the_contracts_message_and_path(nexus, alice):
    r = mkdir(nexus, alice, "/documents/projects")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Directory created", "path": "/documents/projects"}
    assert names(ls_ok(nexus, alice, "/documents")) == [("projects", "folder")]
    assert names(ls_ok(nexus, alice, "/")) == [("documents", "folder")]


def test_mkdir_creates_missing_parents_and_is_idempotent(nexus, alice):
    assert mkdir(nexus, alice, "/a/b/c/d").status_code == 200
    for path in ("/a/b/c/d", "/a/b", "/a/b/c/d/"):
        r = mkdir(nexus, alice, path)
        assert r.status_code == 200, f"{path}: {r.text}"
    assert names(ls_ok(nexus, alice, "/a/b/c")) == [("d", "folder")]
    assert ls_ok(nexus, alice, "/a/b/c/d") == []


def test_mkdir_answers_the_normalised_path(nexus, alice):
    r = mkdir(nexus, alice, "//x///y/")
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/x/y"


def test_mkdir_over_a_file_is_a_409(nexus, alice):
    put_ok(nexus, alice, "/docs/report.pdf", b"pdf")
    assert_json_error(mkdir(nexus, alice, "/docs/report.pdf"), 409)
    assert_json_error(mkdir(nexus, alice, "/docs/report.pdf/sub"), 409)


def test_ls_lists_folders_and_files_with_type_and_size(nexus, alice):
    mkdir(nexus, alice, "/d/zeta")
    mkdir(nexus, alice, "/d/alpha")
    put_ok(nexus, alice, "/d/b.txt", b"x" * 1234)
    put_ok(nexus, alice, "/d/a.txt", b"")
    entries = ls_ok(nexus, alice, "/d")
    assert sorted(names(entries)) == [("a.txt", "file"), ("alpha", "folder"), ("b.txt", "file"),
                                      ("zeta", "folder")]
    by_name = {e["name"]: e for e in entries}
    assert by_name["b.txt"]["size"] == 1234
    assert by_name["a.txt"]["size"] == 0
    for e in entries:
        assert set(e) >= {"name", "type", "size"}, e
        assert isinstance(e["size"], int)


def test_ls_of_a_missing_path_is_a_404(nexus, alice):
    assert_json_error(ls(nexus, alice, "/no/such/dir"), 404)


def test_a_new_users_root_is_empty(nexus, alice):
    assert ls_ok(nexus, alice, "/") == []


def test_unicode_and_spaces_in_paths(nexus, alice):
    path = "/R\u00e9pertoire \u00e9t\u00e9/sub dir"
    r = mkdir(nexus, alice, path)
    assert r.status_code == 200, r.text
    assert r.json()["path"] == path
    put_ok(nexus, alice, path + "/\u6587\u4ef6 1.txt", b"hi")
    assert names(ls_ok(nexus, alice, path)) == [("\u6587\u4ef6 1.txt", "file")]
    assert get(nexus, alice, path + "/\u6587\u4ef6 1.txt").content == b"hi"


# ---------------------------------------------------------------- upload and download


def test_upload_to_a_path_creates_parents_and_downloads_back(nexus, alice):
    data = os.urandom(3 * MiB + 11)
    put_ok(nexus, alice, "/deep/er/file.bin", data)
    assert names(ls_ok(nexus, alice, "/deep")) == [("er", "folder")]
    assert names(ls_ok(nexus, alice, "/deep/er")) == [("file.bin", "file")]
    r = get(nexus, alice, "/deep/er/file.bin", timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers.get("Content-Length") == str(len(data))
    assert r.headers.get("ETag") == '"' + hashlib.sha256(data).hexdigest() + '"'
    assert r.headers.get("Content-Disposition", "").startswith("attachment")


def test_a_range_of_a_tree_file(nexus, alice):
    data = os.urandom(2 * MiB)
    put_ok(nexus, alice, "/r.bin", data)
    r = get(nexus, alice, "/r.bin", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206, r.text
    assert r.headers.get("Content-Range") == f"bytes 100-199/{len(data)}"
    assert r.content == data[100:200]
    r = get(nexus, alice, "/r.bin", headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416, r.text


def test_upload_replaces_an_existing_file(nexus, alice):
    put_ok(nexus, alice, "/v/notes.txt", b"first version")
    before = usage(nexus, alice)
    put_ok(nexus, alice, "/v/notes.txt", b"second, longer version")
    assert get(nexus, alice, "/v/notes.txt").content == b"second, longer version"
    entries = ls_ok(nexus, alice, "/v")
    assert names(entries) == [("notes.txt", "file")]
    assert entries[0]["size"] == len(b"second, longer version")
    after = usage(nexus, alice)
    assert after["files"] == before["files"]
    assert after["used_bytes"] == before["used_bytes"] - len(b"first version") + len(
        b"second, longer version")


def test_replacing_a_file_releases_the_old_contents_chunks(nexus, alice):
    old = put_ok(nexus, alice, "/rep.bin", os.urandom(3 * MiB)).json()
    with_old = chunk_count(nexus)
    new = put_ok(nexus, alice, "/rep.bin", os.urandom(3 * MiB)).json()
    # The new content's chunks in, the old content's out (random: none shared).
    settled_chunk_count(nexus, with_old - old["chunks_count"] + new["chunks_count"],
                        "after replace")


def test_upload_onto_a_folder_or_below_a_file_is_a_409(nexus, alice):
    mkdir(nexus, alice, "/f/folder")
    put_ok(nexus, alice, "/f/file", b"x")
    assert_json_error(put(nexus, alice, "/f/folder", b"y"), 409)
    assert_json_error(put(nexus, alice, "/f/file/below", b"y"), 409)
    assert get(nexus, alice, "/f/file").content == b"x"


def test_upload_accepts_the_file_part_before_the_path_part(nexus, alice):
    data = os.urandom(3 * MiB + 5)
    r = upload(nexus.api, alice.token, "/api/fs/upload",
               [("file", "ignored.bin", data), ("path", None, b"/after/late.bin")], timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/after/late.bin"
    assert r.json()["name"] == "late.bin"
    assert names(ls_ok(nexus, alice, "/after")) == [("late.bin", "file")]
    assert get(nexus, alice, "/after/late.bin", timeout=30).content == data


def test_a_file_part_whose_path_never_comes_or_is_bad_leaves_nothing(nexus, alice):
    put_ok(nexus, alice, "/keep.bin", os.urandom(MiB))
    before_chunks = chunk_count(nexus)
    before_usage = usage(nexus, alice)
    bad_forms = [
        [("file", "x.bin", os.urandom(2 * MiB))],
        [("file", "x.bin", os.urandom(2 * MiB)), ("path", None, b"/a/../../b")],
        [("file", "x.bin", os.urandom(2 * MiB)), ("path", None, b"/")],
        [("file", "x.bin", os.urandom(2 * MiB)), ("path", None, b"/keep.bin/below")],
    ]
    for form in bad_forms:
        r = upload(nexus.api, alice.token, "/api/fs/upload", form, timeout=60)
        assert r.status_code in (400, 409), r.text
        assert "error" in r.json(), r.text
    settled_chunk_count(nexus, before_chunks, "after refused late-path uploads")
    assert usage(nexus, alice) == before_usage
    assert names(ls_ok(nexus, alice, "/")) == [("keep.bin", "file")]


def test_upload_without_a_path_or_file_part_is_a_400(nexus, alice):
    r = upload(nexus.api, alice.token, "/api/fs/upload", [("file", "x.bin", b"data")])
    assert_json_error(r, 400)
    r = upload(nexus.api, alice.token, "/api/fs/upload", [("path", None, b"/only/path")])
    assert_json_error(r, 400)
    assert_json_error(put(nexus, alice, "/", b"root"), 400)
    assert_json_error(put(nexus, alice, "", b"empty"), 400)
    assert ls_ok(nexus, alice, "/") == []


def test_download_of_a_folder_is_a_400_and_of_a_missing_path_a_404(nexus, alice):
    mkdir(nexus, alice, "/dl")
    assert_json_error(get(nexus, alice, "/dl"), 400)
    assert_json_error(get(nexus, alice, "/"), 400)
    assert_json_error(get(nexus, alice, "/dl/missing"), 404)


def test_a_tree_file_is_also_a_files_api_file(nexus, alice):
    data = os.urandom(5000)
    put_ok(nexus, alice, "/both/ways.bin", data)
    files = nexus.api.get("/api/files", token=alice.token).json()
    match = [f for f in files if f["name"] == "ways.bin"]
    assert len(match) == 1, files
    assert match[0]["sha256"] == hashlib.sha256(data).hexdigest()
    r = nexus.api.get(f"/api/files/{match[0]['id']}/download", token=alice.token)
    assert r.content == data


# ---------------------------------------------------------------- delete


def test_delete_of_a_file_and_of_a_folder_recursively(nexus, alice):
    put_ok(nexus, alice, "/del/one.txt", b"1")
    put_ok(nexus, alice, "/del/sub/two.txt", b"22")
    put_ok(nexus, alice, "/keep.txt", b"k")
    r = rm(nexus, alice, "/del/one.txt")
    assert r.status_code in (200, 204), r.text
    assert names(ls_ok(nexus, alice, "/del")) == [("sub", "folder")]
    r = rm(nexus, alice, "/del")
    assert r.status_code in (200, 204), r.text
    assert_json_error(ls(nexus, alice, "/del"), 404)
    assert_json_error(ls(nexus, alice, "/del/sub"), 404)
    assert_json_error(get(nexus, alice, "/del/sub/two.txt"), 404)
    assert names(ls_ok(nexus, alice, "/")) == [("keep.txt", "file")]
    u = usage(nexus, alice)
    assert (u["used_bytes"], u["files"], u["folders"]) == (1, 1, 0)


def test_delete_of_the_root_is_a_400_and_of_a_missing_path_a_404(nexus, alice):
    put_ok(nexus, alice, "/stays.txt", b"s")
    for root in ("/", "", "//"):
        assert_json_error(rm(nexus, alice, root), 400)
    assert_json_error(rm(nexus, alice, "/nothing/here"), 404)
    assert names(ls_ok(nexus, alice, "/")) == [("stays.txt", "file")]


def test_recursive_delete_frees_exactly_the_chunks_nothing_else_references(nexus, alice):
    shared = os.urandom(2 * MiB)
    put_ok(nexus, alice, "/keep/shared.bin", shared)
    base = chunk_count(nexus)

    tree = {
        "/t/top.bin": os.urandom(3 * MiB),
        "/t/a/copy-of-shared.bin": shared,
        "/t/a/mid.bin": os.urandom(MiB + 5),
        "/t/a/b/low.bin": os.urandom(200 * KiB),
        "/t/a/b/c/deepest.bin": os.urandom(5 * MiB),
        "/t/a/b/c/again.bin": os.urandom(10),
    }
    for path, data in tree.items():
        put_ok(nexus, alice, path, data)
    mkdir(nexus, alice, "/t/a/b/c/empty")
    grown = chunk_count(nexus)
    assert grown > base

    r = rm(nexus, alice, "/t")
    assert r.status_code in (200, 204), r.text
    settled_chunk_count(nexus, base, "after deleting /t")
    assert get(nexus, alice, "/keep/shared.bin", timeout=30).content == shared
    assert_json_error(ls(nexus, alice, "/t"), 404)


# ---------------------------------------------------------------- move


def test_move_renames_a_file(nexus, alice):
    put_ok(nexus, alice, "/docs/draft.txt", b"draft")
    mkdir(nexus, alice, "/archive")
    r = mv(nexus, alice, "/docs/draft.txt", "/archive/final.txt")
    assert r.status_code == 200, r.text
    assert ls_ok(nexus, alice, "/docs") == []
    assert names(ls_ok(nexus, alice, "/archive")) == [("final.txt", "file")]
    assert get(nexus, alice, "/archive/final.txt").content == b"draft"
    assert_json_error(get(nexus, alice, "/docs/draft.txt"), 404)


def test_move_carries_a_folder_with_its_children(nexus, alice):
    put_ok(nexus, alice, "/proj/readme.md", b"readme")
    put_ok(nexus, alice, "/proj/src/main.cc", b"int main() {}")
    mkdir(nexus, alice, "/proj/src/empty")
    mkdir(nexus, alice, "/old")
    r = mv(nexus, alice, "/proj", "/old/proj-2025")
    assert r.status_code == 200, r.text
    assert_json_error(ls(nexus, alice, "/proj"), 404)
    assert_json_error(ls(nexus, alice, "/proj/src"), 404)
    assert sorted(names(ls_ok(nexus, alice, "/old/proj-2025"))) == [("readme.md", "file"),
                                                                    ("src", "folder")]
    assert sorted(names(ls_ok(nexus, alice, "/old/proj-2025/src"))) == [("empty", "folder"),
                                                                        ("main.cc", "file")]
    assert get(nexus, alice, "/old/proj-2025/src/main.cc").content == b"int main() {}"


def test_move_into_its_own_subtree_is_a_400(nexus, alice):
    mkdir(nexus, alice, "/loop/inner")
    for target in ("/loop/inner/loop", "/loop/x", "/loop"):
        assert_json_error(mv(nexus, alice, "/loop", target), 400)
    assert names(ls_ok(nexus, alice, "/loop")) == [("inner", "folder")]


def test_move_onto_an_existing_target_is_a_409(nexus, alice):
    put_ok(nexus, alice, "/m/a.txt", b"a")
    put_ok(nexus, alice, "/m/b.txt", b"b")
    mkdir(nexus, alice, "/m/dir")
    assert_json_error(mv(nexus, alice, "/m/a.txt", "/m/b.txt"), 409)
    assert_json_error(mv(nexus, alice, "/m/a.txt", "/m/dir"), 409)
    assert get(nexus, alice, "/m/a.txt").content == b"a"
    assert get(nexus, alice, "/m/b.txt").content == b"b"


def test_move_of_a_missing_source_is_a_404_and_of_the_root_a_400(nexus, alice):
    assert_json_error(mv(nexus, alice, "/missing", "/elsewhere"), 404)
    assert_json_error(mv(nexus, alice, "/", "/elsewhere"), 400)


# ---------------------------------------------------------------- isolation


def test_another_user_cannot_see_download_move_or_delete_anything_of_yours(nexus, alice, bob):
    put_ok(nexus, alice, "/secret/plans.txt", b"alice's plans")
    mkdir(nexus, alice, "/secret/folder")

    assert ls_ok(nexus, bob, "/") == []
    for path in ("/secret", "/secret/folder", "/secret/plans.txt"):
        assert_json_error(ls(nexus, bob, path), 404)
        assert_json_error(rm(nexus, bob, path), 404)
        assert_json_error(mv(nexus, bob, path, "/stolen"), 404)
    assert_json_error(get(nexus, bob, "/secret/plans.txt"), 404)
    assert_json_error(get(nexus, bob, "/secret/plans.txt", headers={"Range": "bytes=0-0"}), 404)
    assert usage(nexus, bob)["files"] == 0

    # bob's own tree with the same names is his alone.
    put_ok(nexus, bob, "/secret/plans.txt", b"bob's")
    assert get(nexus, alice, "/secret/plans.txt").content == b"alice's plans"
    assert sorted(names(ls_ok(nexus, alice, "/secret"))) == [("folder", "folder"),
                                                             ("plans.txt", "file")]
    assert names(ls_ok(nexus, bob, "/secret")) == [("plans.txt", "file")]


def test_every_fs_route_needs_a_token(nexus):
    body = MultipartBody([("path", None, b"/x"), ("file", "x", b"x")])
    cases = [
        ("POST", "/api/fs/mkdir", {"json": {"path": "/x"}}),
        ("GET", "/api/fs/ls?path=/", {}),
        ("POST", "/api/fs/upload", {"data": body, "headers": {"Content-Type": body.content_type}}),
        ("DELETE", "/api/fs/delete?path=/x", {}),
        ("POST", "/api/fs/move", {"json": {"old_path": "/a", "new_path": "/b"}}),
        ("GET", "/api/fs/download?path=/x", {}),
        ("GET", "/api/fs/usage", {}),
    ]
    for method, path, kw in cases:
        assert_json_error(nexus.api.request(method, path, **kw), 401)


# ---------------------------------------------------------------- traversal and bad paths


TRAVERSAL = ["/a/../../b", "/../etc", "/a/..", "..", "/a/./../b", "/a\x00b", "/a\nb", "/a/\x7f"]


@pytest.mark.parametrize("path", TRAVERSAL, ids=repr)
def test_traversal_and_control_characters_are_a_400_on_every_route(nexus, alice, path):
    put_ok(nexus, alice, "/a/file", b"a")
    assert_json_error(mkdir(nexus, alice, path), 400)
    assert_json_error(ls(nexus, alice, path), 400)
    assert_json_error(put(nexus, alice, path, b"x"), 400)
    assert_json_error(rm(nexus, alice, path), 400)
    assert_json_error(get(nexus, alice, path), 400)
    assert_json_error(mv(nexus, alice, "/a/file", path), 400)
    assert_json_error(mv(nexus, alice, path, "/z"), 400)
    assert names(ls_ok(nexus, alice, "/")) == [("a", "folder")]


@pytest.mark.parametrize("target", [
    "/api/fs/ls?path=/%2e%2e/etc",
    "/api/fs/ls?path=%2E%2E",
    "/api/fs/ls?path=/a/%2e%2e/%2e%2e/b",
    "/api/fs/ls?path=/a%00b",
    "/api/fs/ls?path=/a%2f..%2f..%2fb",
    "/api/fs/download?path=/%2e%2e/%2e%2e/etc/passwd",
    "/api/fs/download?path=/a%00/file",
])
def test_encoded_traversal_in_the_query_is_a_400(nexus, alice, target):
    put_ok(nexus, alice, "/a/file", b"a")
    status, headers, body = raw_request(nexus.port, "GET", target,
                                        {"Authorization": f"Bearer {alice.token}"})
    assert status == 400, (target, status, body[:200])
    assert headers.get("content-type", "").startswith("application/json")


def test_encoded_traversal_in_a_delete_query_is_a_400(nexus, alice):
    put_ok(nexus, alice, "/a/file", b"a")
    for target in ("/api/fs/delete?path=/a/%2e%2e", "/api/fs/delete?path=/a%00"):
        status, _, body = raw_request(nexus.port, "DELETE", target,
                                      {"Authorization": f"Bearer {alice.token}"})
        assert status == 400, (target, status, body[:200])
    assert names(ls_ok(nexus, alice, "/a")) == [("file", "file")]


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
