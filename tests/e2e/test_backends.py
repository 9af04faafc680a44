"""The suite runs on the back-ends it says it runs on: with
NEXUS_E2E_BACKENDS=postgres+s3 the shared instance's files are rows in its
PostgreSQL database and objects in its bucket, and nothing of them is in its
data directory (not even an empty nexus.db); on the embedded defaults they are in nexus.db and the chunk
directory. Without this, a pass on the wrong back-ends would look green."""

import os

import backends
from fs_routes import mkdir, put_ok
from uploads import chunk_count, local_chunk_files


def test_the_shared_instance_stores_where_the_session_says(nexus, alice):
    # metadata_value reads the instance's PostgreSQL database, or nexus.db;
    # chunk_count counts its bucket's objects, or its chunk files.
    count = "SELECT count(*) FROM files"
    before = (int(backends.metadata_value(nexus, count)), chunk_count(nexus))
    mkdir(nexus, alice, "/backends")
    put_ok(nexus, alice, "/backends/stored.bin", os.urandom(300 * 1024))
    assert int(backends.metadata_value(nexus, count)) == before[0] + 1
    assert chunk_count(nexus) > before[1]
    if backends.active is None:
        assert nexus.env.get("NEXUS_STORAGE_METADATA", "sqlite") == "sqlite"
        assert backends.bucket_of(nexus) is None
        return
    assert nexus.env["NEXUS_STORAGE_METADATA"].startswith("postgresql://")
    assert backends.bucket_of(nexus) is not None
    assert local_chunk_files(nexus) == 0, "chunks written to the local disk"
    assert not os.path.exists(os.path.join(nexus.data_dir, "nexus.db")), \
        "nexus.db made beside PostgreSQL"
