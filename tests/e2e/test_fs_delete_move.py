"""The per-user file tree: recursive delete and move (/api/fs/delete,
/api/fs/move), with the chunk store as the witness of what was freed."""

import os

from fs_routes import KiB, MiB, get, ls, ls_ok, mkdir, mv, names, put_ok, rm, usage
from harness import assert_json_error, chunk_count, settled_chunk_count


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
