"""The per-user file tree: isolation between users, the token every route
needs, and traversal or control characters in paths (plain and encoded)."""

import pytest

from fs_routes import get, ls, ls_ok, mkdir, mv, names, put, put_ok, rm, usage
from harness import MultipartBody, assert_json_error, raw_request


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
