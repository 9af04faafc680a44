"""Multi-tenant hardening of storage, attacked through the public HTTP API:
names with bidirectional controls, the per-user entry limit, and who may
read the data dir. Durability and the quota while bytes stream in have
their own test_security_storage_*.py files; storage_probes.py holds what
they all watch storage with."""

import os
import stat
import subprocess

import pytest

from harness import MultipartBody, assert_json_error, registered_user, upload
from storage_probes import FS_UPLOAD, MiB, UPLOAD, files_of, ls_names, put, usage


# ----------------------------------------- item 14: bidirectional controls, entry limit


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("ch", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_names_with_bidirectional_controls_are_a_400_on_every_route_that_creates_one(
        nexus, alice, ch):
    name = f"invoice{ch}fdp.exe"
    r = upload(nexus.api, alice.token, FS_UPLOAD, [("path", None, b"/ok/a.txt"),
                                                   ("file", "a.txt", b"a")])
    assert r.status_code == 200, r.text
    before_files = len(files_of(nexus, alice))

    def fs_upload_with_query_path():
        body = MultipartBody([("file", "x", b"data")])
        return nexus.api.post(FS_UPLOAD, token=alice.token, params={"path": f"/ok/{name}"},
                              data=body.to_bytes(), headers={"Content-Type": body.content_type})

    attempts = {
        "file name as filename*": lambda: upload(nexus.api, alice.token, UPLOAD,
                                                 [("file", "x", b"data", name)]),
        "file name as UTF-8": lambda: upload(nexus.api, alice.token, UPLOAD,
                                             [("file", name, b"data")]),
        "mkdir": lambda: nexus.api.post("/api/fs/mkdir", token=alice.token,
                                        json={"path": f"/ok/{name}"}),
        "mkdir of a parent": lambda: nexus.api.post("/api/fs/mkdir", token=alice.token,
                                                    json={"path": f"/{name}/sub"}),
        "upload, path part first": lambda: upload(
            nexus.api, alice.token, FS_UPLOAD,
            [("path", None, f"/ok/{name}".encode()), ("file", "x", b"data")]),
        "upload, path part last": lambda: upload(
            nexus.api, alice.token, FS_UPLOAD,
            [("file", "x", b"data"), ("path", None, f"/ok/{name}".encode())]),
        "upload, path in the query": fs_upload_with_query_path,
        "move": lambda: nexus.api.post("/api/fs/move", token=alice.token,
                                       json={"old_path": "/ok/a.txt", "new_path": f"/ok/{name}"}),
        "move into a new folder": lambda: nexus.api.post(
            "/api/fs/move", token=alice.token,
            json={"old_path": "/ok/a.txt", "new_path": f"/{name}/a.txt"}),
    }
    for what, attempt in attempts.items():
        body = assert_json_error(attempt(), 400)
        assert "bidirectional" in body["error"], (what, body)
    assert ls_names(nexus, alice) == ["ok"]
    assert ls_names(nexus, alice, "/ok") == ["a.txt"]
    assert len(files_of(nexus, alice)) == before_files


@pytest.fixture(scope="module")
def limited(module_nexus_factory):
    return module_nexus_factory(env={"NEXUS_STORAGE_MAX_TREE_ENTRIES": "5"}, name="entries")


def test_files_and_folders_past_the_per_user_limit_are_a_507(limited, attach_logs):
    inst = limited
    attach_logs(inst)
    user = registered_user(inst, "entries")
    other = registered_user(inst, "entries")

    def mkdir(u, p):
        return inst.api.post("/api/fs/mkdir", token=u.token, json={"path": p})

    assert mkdir(user, "/a/b").status_code == 200                        # 2
    assert put(inst, user, "/a/f1", b"1").status_code == 200             # 3
    r = upload(inst.api, user.token, UPLOAD, [("file", "raw.bin", b"r")])
    assert r.status_code == 200, r.text                                  # 4: raw files count
    assert mkdir(user, "/a/c").status_code == 200                        # 5

    refusals = [
        mkdir(user, "/a/d"),
        mkdir(user, "/x/y/z"),
        put(inst, user, "/a/f2", b"2"),
        upload(inst.api, user.token, FS_UPLOAD, [("file", "x", b"2"), ("path", None, b"/a/f3")]),
        upload(inst.api, user.token, UPLOAD, [("file", "raw2.bin", b"r")]),
        inst.api.post("/api/fs/move", token=user.token,
                      json={"old_path": "/a/f1", "new_path": "/new/f1"}),
    ]
    for r in refusals:
        body = assert_json_error(r, 507)
        assert "too many files and folders" in body["error"] and "5" in body["error"], body
    assert ls_names(inst, user) == ["a"]
    assert ls_names(inst, user, "/a") == ["b", "c", "f1"]
    assert len(files_of(inst, user)) == 2
    u = usage(inst, user)
    assert u["files"] + u["folders"] == 5, u

    # What adds no entry still works: replacing, moving within, listing.
    assert put(inst, user, "/a/f1", b"new").status_code == 200
    assert inst.api.post("/api/fs/move", token=user.token,
                         json={"old_path": "/a/f1", "new_path": "/a/b/f1"}).status_code == 200
    # The limit is per user.
    assert mkdir(other, "/1/2/3/4/5").status_code == 200
    # Deleting makes room.
    assert inst.api.request("DELETE", "/api/fs/delete", token=user.token,
                            params={"path": "/a/c"}).status_code == 200
    assert put(inst, user, "/a/f2", b"2").status_code == 200


# ----------------------------------------------------- item 6: who may read the data


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.local_store
def test_the_data_dir_database_and_chunks_are_readable_by_their_owner_only(nexus_factory):
    inst = nexus_factory(name="perms", start=False)
    # An existing data dir as `mkdir` under umask 022 (or an older version)
    # leaves it.
    data = os.path.join(inst.data_dir, "data")
    os.mkdir(data)
    os.chmod(data, 0o755)
    inst.env["NEXUS_DATA_DIR"] = data
    inst.start()
    user = registered_user(inst, "perms")
    r = upload(inst.api, user.token, UPLOAD, [("file", "secret.bin", os.urandom(3 * MiB))])
    assert r.status_code == 200, r.text

    assert mode(data) == 0o700, oct(mode(data))
    for name in ("nexus.db", "nexus.db-wal", "nexus.db-shm"):
        path = os.path.join(data, name)
        assert os.path.exists(path), name
        assert mode(path) == 0o600, (name, oct(mode(path)))
    chunks = os.path.join(data, "chunks")
    found = 0
    for d, dirs, files in os.walk(chunks):
        assert mode(d) & 0o077 == 0, (d, oct(mode(d)))
        for f in files:
            assert mode(os.path.join(d, f)) & 0o077 == 0, (f, oct(mode(os.path.join(d, f))))
            found += 1
    assert found >= 1


def test_a_shared_directory_is_refused_as_the_data_dir(nexus_factory):
    inst = nexus_factory(name="shared", start=False)
    data = os.path.join(inst.data_dir, "tmp-like")
    os.mkdir(data)
    os.chmod(data, 0o1777)
    inst.env["NEXUS_DATA_DIR"] = data
    inst.start_service("nexusd")
    try:
        assert inst.procs["nexusd"].wait(10) != 0
    except subprocess.TimeoutExpired:
        pytest.fail("nexusd started on a world-writable sticky data dir")
    assert mode(data) == 0o1777, "left as it was"
    assert "shared directory" in inst.logs()["nexusd"]
