"""The storage back-ends the suite's instances run on.

By default every instance keeps its metadata in SQLite and its chunks on its
own disk (the embedded defaults). With NEXUS_E2E_BACKENDS=postgres+s3 the
whole suite runs again on the scale-out back-ends instead:

- one throw-away PostgreSQL cluster for the session (tests/support/
  pg_cluster.sh, as the postgres user on a private socket directory), in
  which each instance gets a database of its own, for nexusd's metadata
  ([storage] metadata) and nexus-auth's accounts ([auth] metadata);
- one more Nexus, started on the embedded defaults, whose S3 API is the
  object store: each instance gets a bucket of its own there ([storage]
  chunks = "s3://<bucket>?endpoint=...").

Instance() asks configure() for its settings before a test's own, so a test
that pins a back-end (test_storage_postgres.py, test_storage_s3_chunks.py)
still gets it. Tests that look at the local chunk directory or nexus.db by
hand carry the `local_store` mark; the second pass deselects them (the
remote store's counterparts are in test_storage_s3_chunks.py and
test_storage_postgres.py).
"""

import os
import secrets
import sqlite3
import subprocess

ENV = "NEXUS_E2E_BACKENDS"
POSTGRES_S3 = "postgres+s3"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_CLUSTER = os.path.join(ROOT, "tests", "support", "pg_cluster.sh")

CHUNK_PREFIX = "chunks/"


def wanted():
    """The back-ends named by NEXUS_E2E_BACKENDS: "" (embedded) or POSTGRES_S3."""
    value = os.environ.get(ENV, "").strip()
    if value not in ("", POSTGRES_S3):
        raise ValueError(f"{ENV}={value!r}: expected empty or {POSTGRES_S3!r}")
    return value


class PostgresS3:
    """The session's PostgreSQL cluster and S3 store, handing out a database
    and a bucket to each instance."""

    def __init__(self, make_store_instance, skip_or_fail, s3_host="127.0.0.1"):
        self._make_store_instance = make_store_instance
        self._skip_or_fail = skip_or_fail
        # The address of the store's S3 listener in the instances' chunk
        # URLs (make_store_instance gives the store that listener); s3(),
        # and so chunk_objects(), reach the store on 127.0.0.1 only.
        self.s3_host = s3_host
        self.pg_dir = None
        self.pg_uri = None
        self.store = None
        self._s3 = None

    def start(self):
        if os.geteuid() != 0:
            self._skip_or_fail("the PostgreSQL cluster runs as the postgres user: needs root")
        r = subprocess.run([PG_CLUSTER, "start", "--name", "e2e-suite"], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"pg_cluster.sh start failed: {r.stderr}")
        self.pg_dir, self.pg_uri = r.stdout.split()

        # The store itself runs on the embedded defaults, unlimited, and lets
        # every instance's pool of chunk writers in at once.
        self.store = self._make_store_instance({
            "NEXUS_STORAGE_QUOTA_BYTES": "-1",
            "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS_PER_USER": "4096",
            "NEXUS_DAEMON_MAX_CONCURRENT_UPLOADS": "4096",
            "NEXUS_DAEMON_MAX_CONCURRENT_DOWNLOADS_PER_USER": "4096",
            "NEXUS_DAEMON_MAX_CONCURRENT_DOWNLOADS": "4096",
        })
        from harness import registered_user  # not at import: harness imports us
        self.owner = registered_user(self.store, "chunkstore")
        r = self.store.api.post("/api/s3-keys", token=self.owner.token)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/s3-keys on the store: {r.status_code} {r.text}")
        self.key = r.json()
        return self

    def stop(self):
        if self.store is not None:
            self.store.stop()
            self.store.cleanup()
        if self.pg_dir is not None:
            subprocess.run([PG_CLUSTER, "stop", self.pg_dir], timeout=120)

    def s3(self):
        """A boto3 client of the store (made on first use: boto3 is heavy)."""
        if self._s3 is None:
            from test_s3 import client
            self._s3 = client(self.store, self.key["access_key"], self.key["secret_key"])
        return self._s3

    def _psql(self, sql):
        r = subprocess.run(["psql", self.pg_uri, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr}")

    def configure(self, inst):
        """Gives `inst` a database and a bucket of its own (sets inst.env),
        and answers for its chunk objects (inst.chunk_store)."""
        tag = secrets.token_hex(6)
        database = f"e2e_{tag}"
        self._psql(f'CREATE DATABASE "{database}"')
        bucket = f"e2e-{tag}"
        r = self.store.api.post("/api/fs/mkdir", token=self.owner.token,
                                json={"path": f"/{bucket}"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"bucket {bucket} on the store: {r.status_code} {r.text}")

        # One file per bucket: a test may give an instance the session's
        # configured a second set of back-ends of its own.
        secret_file = os.path.join(inst.data_dir, f"s3-chunks-{tag}.secret")
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.key["secret_key"] + "\n")
        database_uri = self.pg_uri.replace("/postgres?", f"/{database}?", 1)
        inst.env.update({
            "NEXUS_STORAGE_METADATA": database_uri,
            "NEXUS_AUTH_METADATA": database_uri,
            "NEXUS_STORAGE_CHUNKS":
                f"s3://{bucket}?endpoint=http://{self.s3_host}:{self.store.s3_port}"
                "&region=us-east-1",
            "NEXUS_STORAGE_S3_ACCESS_KEY": self.key["access_key"],
            "NEXUS_STORAGE_S3_SECRET_KEY_FILE": secret_file,
        })
        inst.chunk_store = self

    def chunk_objects(self, inst):
        """{key: LastModified} of the chunk objects in `inst`'s bucket."""
        endpoint = f"endpoint=http://{self.s3_host}:{self.store.s3_port}&"
        if endpoint not in inst.env.get("NEXUS_STORAGE_CHUNKS", ""):
            raise AssertionError(f"{inst.label} keeps its chunks in another store than this one")
        return chunk_objects(self.s3(), bucket_of(inst))

    def chunk_keys(self, inst):
        """The object keys under chunks/ in `inst`'s bucket."""
        return set(self.chunk_objects(inst))


def bucket_of(inst):
    """The bucket of [storage] chunks = "s3://<bucket>?...", None for "fs"."""
    url = inst.env.get("NEXUS_STORAGE_CHUNKS", "")
    if not url.startswith("s3://"):
        return None
    return url[len("s3://"):].split("?", 1)[0].split("/", 1)[0]


def chunk_objects(s3, bucket, prefix=CHUNK_PREFIX):
    """{key: LastModified} of every object under `prefix` in `bucket`, read
    with the boto3 client `s3`."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update((o["Key"], o["LastModified"]) for o in page.get("Contents", []))
    return out


# The session's back-ends when they are not the embedded ones (set by
# conftest.py's session fixture), else None.
active = None


def configure(inst, embedded):
    """Called by Instance() before a test's own settings are applied;
    `embedded` keeps the instance on the embedded defaults whatever the
    session runs on (the store itself)."""
    inst.chunk_store = None
    if active is not None and not embedded:
        active.configure(inst)


def chunk_count(inst):
    """Chunk objects in the bucket of an instance whose chunks a PostgresS3
    placed on S3, None for one on the local store."""
    if inst.chunk_store is None:
        return None
    return len(inst.chunk_store.chunk_keys(inst))


def require_local_store(inst, what):
    """Stops a test that looks at the local chunk directory by hand when the
    instance keeps its chunks elsewhere (it should carry the local_store mark)."""
    if bucket_of(inst) is not None:
        raise AssertionError(f"{what} reads the local chunk directory, but this instance keeps "
                             "its chunks on S3: mark the test local_store")


def metadata_value(inst, query):
    """The first column of the first row `query` answers in the database of
    `inst`'s metadata: its PostgreSQL database when [storage] metadata names
    one, else nexus.db (read-only)."""
    uri = inst.env.get("NEXUS_STORAGE_METADATA", "sqlite")
    if uri != "sqlite":
        r = subprocess.run(["psql", uri, "-Atc", query], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"psql {query!r}: {r.stderr}")
        return r.stdout.strip()
    return nexus_db_value(inst, query)


def nexus_db_value(inst, query):
    """The same from the instance's nexus.db, whatever its metadata setting."""
    db = sqlite3.connect(f"file:{os.path.join(inst.data_dir, 'nexus.db')}?mode=ro", uri=True)
    try:
        row = db.execute(query).fetchone()
        return "" if row is None else str(row[0])
    finally:
        db.close()
