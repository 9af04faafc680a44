"""nexusd with the metadata of storage on PostgreSQL
([storage] metadata = "postgres://..."): a throw-away cluster
(tests/support/pg_cluster.sh, run as the postgres user on a private socket
directory) under an instance with a 10 MiB quota, driven through the public
API: upload, list, download, tree mkdir/move/delete, a refused upload, and
parallel uploads racing for the quota."""

import concurrent.futures
import os
import subprocess

import pytest

from backends import PG_CLUSTER, metadata_value
from fs_routes import MiB, get, ls_ok, mv, names, put, put_ok, rm, usage
from harness import assert_json_error, registered_user, skip_or_fail

QUOTA = 10 * MiB


@pytest.fixture(scope="module")
def pg_cluster():
    """(dir, uri) of a cluster of its own; removed at the end, pass or fail."""
    if os.geteuid() != 0:
        skip_or_fail("the PostgreSQL cluster runs as the postgres user: needs root")
    if not os.path.exists("/usr/lib/postgresql"):
        skip_or_fail("needs postgresql (scripts/install-deps.sh)")
    r = subprocess.run([PG_CLUSTER, "start", "--name", "e2e"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    directory, uri = r.stdout.split()
    try:
        yield directory, uri
    finally:
        subprocess.run([PG_CLUSTER, "stop", directory], timeout=120)


@pytest.fixture(scope="module")
def pg_nexus(pg_cluster, module_nexus_factory):
    # Set up after the cluster, so stopped before it is removed.
    inst = module_nexus_factory(env={"NEXUS_STORAGE_METADATA": pg_cluster[1],
                                     "NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA),
                                     "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "16"},
                                name="pg")
    return inst


@pytest.fixture
def pg(pg_nexus, attach_logs):
    attach_logs(pg_nexus)
    return pg_nexus


def test_files_and_the_tree_live_in_postgres(pg):
    user = registered_user(pg, "pgfiles")
    data = os.urandom(3 * MiB + 17)
    r = pg.api.post("/api/fs/mkdir", token=user.token, json={"path": "/docs/old"})
    assert r.status_code in (200, 201), r.text
    put_ok(pg, user, "/docs/a.bin", data)
    assert sorted(names(ls_ok(pg, user, "/docs"))) == [("a.bin", "file"), ("old", "folder")]
    assert get(pg, user, "/docs/a.bin", timeout=30).content == data

    # The rows are PostgreSQL's, not nexus.db's.
    owner_files = metadata_value(pg, "SELECT count(*) FROM files")
    assert int(owner_files) >= 1
    assert metadata_value(pg, "SELECT count(*) FROM schema_migrations") != "0"

    # The Files API sees the same file.
    files = pg.api.get("/api/files", token=user.token).json()
    assert [f["size"] for f in files] == [len(data)], files

    assert mv(pg, user, "/docs/a.bin", "/docs/old/b.bin").status_code == 200
    assert names(ls_ok(pg, user, "/docs/old")) == [("b.bin", "file")]
    assert get(pg, user, "/docs/old/b.bin", timeout=30).content == data
    u = usage(pg, user)
    assert (u["used_bytes"], u["files"], u["folders"]) == (len(data), 1, 2)

    assert rm(pg, user, "/docs").status_code == 200
    assert ls_ok(pg, user, "/") == []
    u = usage(pg, user)
    assert (u["used_bytes"], u["files"], u["folders"]) == (0, 0, 0)
    assert pg.api.get("/api/files", token=user.token).json() == []


def test_an_upload_over_quota_is_a_507_and_changes_nothing(pg):
    user = registered_user(pg, "pgquota")
    put_ok(pg, user, "/first.bin", os.urandom(6 * MiB))
    before = usage(pg, user)
    assert_json_error(put(pg, user, "/second.bin", os.urandom(5 * MiB)), 507)
    assert usage(pg, user) == before
    assert names(ls_ok(pg, user, "/")) == [("first.bin", "file")]


def test_parallel_uploads_never_store_more_than_the_quota(pg):
    user = registered_user(pg, "pgrace")
    size = 2 * MiB + 1  # four fit in 10 MiB, five do not
    blobs = [os.urandom(size) for _ in range(8)]
    # Two threads, as two clients would, each uploading four files.
    def upload_four(first):
        return [put(pg, user, f"/p/{i}.bin", blobs[i]) for i in range(first, first + 4)]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = [r for batch in pool.map(upload_four, (0, 4)) for r in batch]

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 4 + [507] * 4, [(r.status_code, r.text[:100]) for r in results]
    u = usage(pg, user)
    assert u["used_bytes"] == 4 * size <= QUOTA
    assert u["files"] == 4
    stored = {e["name"] for e in ls_ok(pg, user, "/p")}
    for i, r in enumerate(results):
        assert (f"{i}.bin" in stored) == (r.status_code == 200)
