"""S3 access keys: created, listed and deleted by a signed-in user through
/api/s3-keys, each secret key shown once and never again (not in a listing,
not in any service's log, not in auth.db in clear); one user's keys are
invisible and untouchable to another.

Signing S3 requests with them is driven by test_s3.py; here, the routes that
manage them."""

import os
import re
import sqlite3
import subprocess

from harness import assert_json_error, registered_user

ACCESS_KEY_SHAPE = re.compile(r"NX[A-Z2-7]{18}")
SECRET_SHAPE = re.compile(r"[A-Za-z0-9]{40}")


def create(nexus, user):
    r = nexus.api.post("/api/s3-keys", token=user.token)
    assert r.status_code == 201, r.text
    return r.json()


def listing(nexus, user):
    r = nexus.api.get("/api/s3-keys", token=user.token)
    assert r.status_code == 200, r.text
    return r


def test_create_shows_the_secret_once_and_the_listing_never(nexus):
    user = registered_user(nexus, "s3k")
    created = create(nexus, user)
    assert set(created) == {"id", "access_key", "secret_key", "created", "created_at"}
    assert ACCESS_KEY_SHAPE.fullmatch(created["access_key"]), created["access_key"]
    assert SECRET_SHAPE.fullmatch(created["secret_key"]), created["secret_key"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["created"])
    second = create(nexus, user)
    assert second["access_key"] != created["access_key"]
    assert second["secret_key"] != created["secret_key"]

    r = listing(nexus, user)
    entries = r.json()
    assert [e["id"] for e in entries] == [created["id"], second["id"]]  # oldest first
    for e in entries:
        assert set(e) == {"id", "access_key", "created", "created_at"}
    assert entries[0]["access_key"] == created["access_key"]
    secrets = (created["secret_key"], second["secret_key"])
    for secret in secrets:
        assert secret not in r.text

    for service, text in nexus.logs().items():
        for secret in secrets:
            assert secret not in text, f"{service} logged an S3 secret key"
    dump = auth_database_dump(nexus)
    assert created["access_key"] in dump
    for secret in secrets:
        assert secret not in dump
    key_file = os.path.join(nexus.data_dir, "s3.key")
    assert os.stat(key_file).st_mode & 0o777 == 0o600

    for e in entries:
        r = nexus.api.request("DELETE", f"/api/s3-keys/{e['id']}", token=user.token)
        assert r.status_code == 204, r.text
        assert r.content == b""
    assert listing(nexus, user).json() == []


def auth_database_dump(nexus):
    """Every row of nexus-auth's database, as text: auth.db, or the
    PostgreSQL database of [auth] metadata."""
    uri = nexus.env.get("NEXUS_AUTH_METADATA", "sqlite")
    if uri == "sqlite":
        with sqlite3.connect(f"file:{os.path.join(nexus.data_dir, 'auth.db')}?mode=ro",
                             uri=True) as db:
            return "\n".join(db.iterdump())
    r = subprocess.run(["pg_dump", "--data-only", uri], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_another_user_can_neither_see_nor_delete_them(nexus):
    alice = registered_user(nexus, "s3ka")
    bob = registered_user(nexus, "s3kb")
    mine = create(nexus, alice)

    assert listing(nexus, bob).json() == []
    r = nexus.api.request("DELETE", f"/api/s3-keys/{mine['id']}", token=bob.token)
    assert_json_error(r, 404)
    assert [e["id"] for e in listing(nexus, alice).json()] == [mine["id"]]

    r = nexus.api.request("DELETE", f"/api/s3-keys/{mine['id']}", token=alice.token)
    assert r.status_code == 204, r.text
    r = nexus.api.request("DELETE", f"/api/s3-keys/{mine['id']}", token=alice.token)
    assert_json_error(r, 404)
    r = nexus.api.request("DELETE", "/api/s3-keys/no-such-id", token=alice.token)
    assert_json_error(r, 404)


def test_the_routes_need_a_signed_in_user(nexus):
    for method, path in (("POST", "/api/s3-keys"), ("GET", "/api/s3-keys"),
                         ("DELETE", "/api/s3-keys/x")):
        assert_json_error(nexus.api.request(method, path), 401)
