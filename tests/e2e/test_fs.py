"""The per-user file tree (/api/fs/*): mkdir -p, ls, upload to a path,
replace and download — through the public HTTP API, with the chunk store on
disk as the witness of what was stored and freed. Delete and move, access
and paths, and quotas have their own test_fs_*.py files."""

import hashlib
import os

from fs_routes import MiB, get, ls, ls_ok, mkdir, names, put, put_ok, usage
from harness import assert_json_error, chunk_count, settled_chunk_count, upload


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
