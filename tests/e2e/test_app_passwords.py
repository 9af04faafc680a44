"""App passwords: created, listed and deleted by a signed-in user through
/api/app-passwords, each secret shown once and never again (not in a
listing, not in any service's log); one user's app passwords are invisible
and untouchable to another.

Signing in with one over HTTP Basic is driven through the real binaries by
the suites of the routes that take Basic credentials; here, the routes that
manage them."""

import re

from harness import assert_json_error, registered_user, unique

SECRET_SHAPE = re.compile(r"([a-z2-7]{4}-){7}[a-z2-7]{4}")


def create(nexus, user, name):
    r = nexus.api.post("/api/app-passwords", token=user.token, json={"name": name})
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()


def listing(nexus, user):
    r = nexus.api.get("/api/app-passwords", token=user.token)
    assert r.status_code == 200, r.text
    return r


def test_create_shows_the_secret_once_and_the_listing_never(nexus):
    user = registered_user(nexus, "apw")
    name = unique("Finder on ")
    created = create(nexus, user, name)
    assert set(created) == {"id", "name", "password", "created", "created_at"}
    assert created["name"] == name
    assert SECRET_SHAPE.fullmatch(created["password"]), created["password"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["created"])

    second = create(nexus, user, "rclone")
    assert second["password"] != created["password"]

    r = listing(nexus, user)
    entries = r.json()
    assert [e["id"] for e in entries] == [created["id"], second["id"]]  # oldest first
    for e in entries:
        assert set(e) == {"id", "name", "created", "created_at", "last_used", "last_used_at"}
        assert e["last_used"] is None and e["last_used_at"] is None
    assert entries[0]["name"] == name
    assert entries[0]["created_at"] == created["created_at"]
    for secret in (created["password"], second["password"]):
        assert secret not in r.text
        assert secret.replace("-", "") not in r.text

    for service, text in nexus.logs().items():
        for secret in (created["password"], second["password"]):
            assert secret not in text, f"{service} logged an app password"
            assert secret.replace("-", "") not in text, f"{service} logged an app password"

    for e in entries:
        r = nexus.api.request("DELETE", f"/api/app-passwords/{e['id']}", token=user.token)
        assert r.status_code == 204, r.text
        assert r.content == b""
    assert listing(nexus, user).json() == []


def test_another_user_can_neither_see_nor_delete_them(nexus):
    alice = registered_user(nexus, "apwa")
    bob = registered_user(nexus, "apwb")
    mine = create(nexus, alice, "laptop")

    assert listing(nexus, bob).json() == []
    r = nexus.api.request("DELETE", f"/api/app-passwords/{mine['id']}", token=bob.token)
    assert_json_error(r, 404)
    assert [e["id"] for e in listing(nexus, alice).json()] == [mine["id"]]

    r = nexus.api.request("DELETE", f"/api/app-passwords/{mine['id']}", token=alice.token)
    assert r.status_code == 204, r.text
    r = nexus.api.request("DELETE", f"/api/app-passwords/{mine['id']}", token=alice.token)
    assert_json_error(r, 404)
    r = nexus.api.request("DELETE", "/api/app-passwords/no-such-id", token=alice.token)
    assert_json_error(r, 404)


def test_the_routes_need_a_bearer_token(nexus):
    for method, path in (("POST", "/api/app-passwords"), ("GET", "/api/app-passwords"),
                         ("DELETE", "/api/app-passwords/x")):
        r = nexus.api.request(method, path, json={"name": "x"} if method == "POST" else None)
        assert_json_error(r, 401)
        r = nexus.api.request(method, path, token="not-a-token",
                              json={"name": "x"} if method == "POST" else None)
        assert_json_error(r, 401)


def test_names_are_validated(nexus):
    user = registered_user(nexus, "apwn")
    for body in ({"name": ""}, {"name": "x" * 65}, {"name": "tab\there"}, {"name": "a\u202eb"},
                 {"name": 5}, {}):
        r = nexus.api.post("/api/app-passwords", token=user.token, json=body)
        assert_json_error(r, 400)
    assert create(nexus, user, "é" * 64)["name"] == "é" * 64  # 64 characters, 128 bytes
    r = nexus.api.post("/api/app-passwords", token=user.token, data="{oops",
                       headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)


def test_one_hundred_per_account_then_403_until_one_is_deleted(nexus):
    user = registered_user(nexus, "apwc")
    ids = [create(nexus, user, f"device {i}")["id"] for i in range(100)]
    r = nexus.api.post("/api/app-passwords", token=user.token, json={"name": "one too many"})
    body = assert_json_error(r, 403)
    assert "100" in body["error"]
    # Another user is not affected.
    other = registered_user(nexus, "apwd")
    create(nexus, other, "first")

    r = nexus.api.request("DELETE", f"/api/app-passwords/{ids[0]}", token=user.token)
    assert r.status_code == 204, r.text
    create(nexus, user, "fits again")
    assert len(listing(nexus, user).json()) == 100
