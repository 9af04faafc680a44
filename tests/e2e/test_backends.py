"""The suite runs on the back-ends it says it runs on: with
NEXUS_E2E_BACKENDS=postgres+s3 the shared instance's files are rows in its
PostgreSQL database and objects in its bucket, and nothing of them is in its
data directory; on the embedded defaults they are in nexus.db and the chunk
directory. Without this, a pass on the wrong back-ends would look green."""

import os
import sqlite3

import backends
from fs_routes import mkdir, put_ok
from harness import chunk_count


def _rows_in_sqlite(inst, sql):
    db = sqlite3.connect(f"file:{os.path.join(inst.data_dir, 'nexus.db')}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def _local_chunk_files(inst):
    root = os.path.join(inst.data_dir, "chunks")
    return sum(len(files) for _, _, files in os.walk(root))


def _upload(inst, user, name):
    mkdir(inst, user, "/backends")
    put_ok(inst, user, f"/backends/{name}", os.urandom(300 * 1024))


def test_the_shared_instance_stores_where_the_session_says(nexus, alice):
    count = "SELECT count(*) FROM files"
    if backends.active is None:
        before = (_rows_in_sqlite(nexus, count), _local_chunk_files(nexus))
        _upload(nexus, alice, "here.bin")
        assert _rows_in_sqlite(nexus, count) == before[0] + 1
        assert _local_chunk_files(nexus) > before[1]
        return

    assert nexus.env["NEXUS_STORAGE_METADATA"].startswith("postgresql://")
    assert nexus.env["NEXUS_STORAGE_CHUNKS"].startswith(f"s3://{nexus.chunk_bucket}?")
    before = (int(backends.metadata_value(nexus, count)), chunk_count(nexus))
    _upload(nexus, alice, "there.bin")
    assert int(backends.metadata_value(nexus, count)) == before[0] + 1
    assert chunk_count(nexus) > before[1], "no new object in the instance's bucket"
    assert _local_chunk_files(nexus) == 0, "chunks written to the local disk"
    assert _rows_in_sqlite(nexus, "SELECT count(*) FROM files") == 0
