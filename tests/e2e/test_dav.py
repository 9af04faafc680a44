"""WebDAV at /dav/ (and /remote.php/webdav/) over the user's tree, against a
real instance: the protocol's answers, the same bytes as /api/fs/download,
COPY on shared chunks, dead properties, cross-tenant isolation and bad
input. Authenticated with the user's bearer token."""

import hashlib
import os

import pytest

from dav_client import (DAV, dav, destination, multistatus, prop_text, propfind, quote)
from fs_routes import MiB, get, ls_ok, names, put_ok, usage
from harness import registered_user
from http_client import raw_request
from uploads import chunk_count


def body_of(inst, user, path):
    r = get(inst, user, path)
    assert r.status_code == 200, f"download {path}: {r.status_code} {r.text[:200]}"
    return r.content


def test_options_and_propfind_of_the_root(nexus, alice):
    r = dav(nexus, alice, "OPTIONS", "/")
    assert r.status_code == 200
    assert r.headers["DAV"].split(",")[0].strip() == "1"
    assert "PROPFIND" in r.headers["Allow"]
    ms = multistatus(propfind(nexus, alice, "/", depth="0"))
    assert list(ms) == ["/dav/"]
    assert ms["/dav/"][DAV + "resourcetype"][1].find(DAV + "collection") is not None
    r = propfind(nexus, alice, "/", depth="infinity")
    assert r.status_code == 403
    assert "propfind-finite-depth" in r.text


def test_put_get_head_round_trip_is_byte_identical(nexus, alice):
    data = os.urandom(3 * MiB + 17)
    assert dav(nexus, alice, "MKCOL", "/docs").status_code == 201
    r = dav(nexus, alice, "PUT", "/docs/r%C3%A9sum%C3%A9.bin", body=data)
    assert r.status_code == 201, r.text
    etag = r.headers["ETag"]
    assert etag == '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    assert body_of(nexus, alice, "/docs/résumé.bin") == data
    r = dav(nexus, alice, "GET", "/docs/r%C3%A9sum%C3%A9.bin")
    assert r.status_code == 200 and r.content == data
    r = dav(nexus, alice, "GET", "/docs/r%C3%A9sum%C3%A9.bin", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    r = dav(nexus, alice, "GET", "/docs/r%C3%A9sum%C3%A9.bin", headers={"If-None-Match": etag})
    assert r.status_code == 304
    r = dav(nexus, alice, "HEAD", "/docs/r%C3%A9sum%C3%A9.bin")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(data)
    # Replacing answers 204; a stale If-Match is refused and changes nothing.
    r = dav(nexus, alice, "PUT", "/docs/r%C3%A9sum%C3%A9.bin", body=b"new",
            headers={"If-Match": '"0000"'})
    assert r.status_code == 412
    r = dav(nexus, alice, "PUT", "/docs/r%C3%A9sum%C3%A9.bin", body=b"new",
            headers={"If-Match": etag, "X-OC-Mtime": "1500000000"})
    assert r.status_code == 204, r.text
    assert body_of(nexus, alice, "/docs/résumé.bin") == b"new"
    ms = multistatus(propfind(nexus, alice, "/docs", depth="1"))
    props = ms["/dav/docs/résumé.bin"]
    assert prop_text(props, "getcontentlength") == "3"
    assert prop_text(props, "getlastmodified") == "Fri, 14 Jul 2017 02:40:00 GMT"
    assert "/dav/docs/" in ms


def test_mkcol_put_and_delete_answer_as_rfc_4918_says(nexus, alice):
    assert dav(nexus, alice, "MKCOL", "/m").status_code == 201
    assert dav(nexus, alice, "MKCOL", "/m").status_code == 405
    assert dav(nexus, alice, "MKCOL", "/missing/child").status_code == 409
    assert dav(nexus, alice, "PUT", "/missing/f.txt", body=b"x").status_code == 409
    assert dav(nexus, alice, "MKCOL", "/m/with-body", body=b"<x/>").status_code == 415
    # Sent as is: `requests` would resolve the dot segments itself.
    status, _, _ = raw_request(nexus.port, "PUT", "/dav/m/a/../b",
                               headers={"Authorization": f"Bearer {alice.token}"}, body=b"x")
    assert status == 400
    assert dav(nexus, alice, "PUT", "/m/f.txt", body=b"f").status_code == 201
    assert dav(nexus, alice, "MKCOL", "/m/sub").status_code == 201
    assert dav(nexus, alice, "PUT", "/m/sub/g.txt", body=b"g").status_code == 201
    assert dav(nexus, alice, "DELETE", "/m").status_code == 204
    assert dav(nexus, alice, "DELETE", "/m").status_code == 404
    assert propfind(nexus, alice, "/m", depth="0").status_code == 404
    assert dav(nexus, alice, "DELETE", "/").status_code == 403


def test_copy_shares_chunks_and_move_renames(nexus, alice):
    data = os.urandom(2 * MiB)
    assert dav(nexus, alice, "MKCOL", "/c").status_code == 201
    assert dav(nexus, alice, "PUT", "/c/a.bin", body=data).status_code == 201
    before = usage(nexus, alice)["used_bytes"]
    chunks = chunk_count(nexus)
    r = dav(nexus, alice, "COPY", "/c/a.bin",
            headers={"Destination": destination(nexus, "/c/b.bin")})
    assert r.status_code == 201, r.text
    assert usage(nexus, alice)["used_bytes"] == before + len(data)
    assert chunk_count(nexus) == chunks  # metadata only: no chunk written
    assert body_of(nexus, alice, "/c/b.bin") == data
    # Overwrite: F on an existing target is 412; the default replaces (204).
    r = dav(nexus, alice, "COPY", "/c/a.bin",
            headers={"Destination": destination(nexus, "/c/b.bin"), "Overwrite": "F"})
    assert r.status_code == 412
    r = dav(nexus, alice, "COPY", "/c/a.bin",
            headers={"Destination": destination(nexus, "/c/b.bin")})
    assert r.status_code == 204
    # A folder, recursively, then Depth: 0 (the folder alone).
    assert dav(nexus, alice, "COPY", "/c", headers={"Destination": destination(nexus, "/d")}) \
        .status_code == 201
    assert sorted(names(ls_ok(nexus, alice, "/d"))) == [("a.bin", "file"), ("b.bin", "file")]
    assert dav(nexus, alice, "COPY", "/c", headers={
        "Destination": destination(nexus, "/e"), "Depth": "0"}).status_code == 201
    assert ls_ok(nexus, alice, "/e") == []
    r = dav(nexus, alice, "MOVE", "/d/a.bin",
            headers={"Destination": destination(nexus, "/e/moved.bin")})
    assert r.status_code == 201, r.text
    assert body_of(nexus, alice, "/e/moved.bin") == data
    r = dav(nexus, alice, "MOVE", "/e/moved.bin",
            headers={"Destination": destination(nexus, "/d/b.bin")})
    assert r.status_code == 204
    assert names(ls_ok(nexus, alice, "/d")) == [("b.bin", "file")]
    # Into its own subtree, or with a missing parent.
    assert dav(nexus, alice, "MOVE", "/c", headers={
        "Destination": destination(nexus, "/c/inner")}).status_code == 403
    assert dav(nexus, alice, "COPY", "/c", headers={
        "Destination": destination(nexus, "/nope/x")}).status_code == 409
    for p in ("/c", "/d", "/e"):
        assert dav(nexus, alice, "DELETE", p).status_code == 204


def test_dead_properties_are_stored_copied_and_removed(nexus, alice):
    assert dav(nexus, alice, "PUT", "/p.txt", body=b"p").status_code == 201
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:nexus-test">'
             '<D:set><D:prop><Z:color>bl&amp;ue</Z:color></D:prop></D:set></D:propertyupdate>')
    r = dav(nexus, alice, "PROPPATCH", "/p.txt", body=patch)
    assert r.status_code == 207, r.text
    assert " 200 " in multistatus(r)["/dav/p.txt"]["{urn:nexus-test}color"][0]
    ask = ('<D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:nexus-test"/>'
           '</D:prop></D:propfind>')
    ms = multistatus(propfind(nexus, alice, "/p.txt", depth="0", body=ask))
    assert prop_text(ms["/dav/p.txt"], "color", "{urn:nexus-test}") == "bl&ue"
    assert dav(nexus, alice, "COPY", "/p.txt",
               headers={"Destination": destination(nexus, "/q.txt")}).status_code == 201
    ms = multistatus(propfind(nexus, alice, "/q.txt", depth="0", body=ask))
    assert prop_text(ms["/dav/q.txt"], "color", "{urn:nexus-test}") == "bl&ue"
    # Live properties cannot be set; the whole request fails.
    bad = ('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag>'
           '</D:prop></D:set></D:propertyupdate>')
    r = dav(nexus, alice, "PROPPATCH", "/p.txt", body=bad)
    assert r.status_code == 207 and "403" in r.text
    for p in ("/p.txt", "/q.txt"):
        assert dav(nexus, alice, "DELETE", p).status_code == 204
    assert dav(nexus, alice, "PUT", "/q.txt", body=b"q").status_code == 201
    ms = multistatus(propfind(nexus, alice, "/q.txt", depth="0", body=ask))
    assert " 404 " in ms["/dav/q.txt"]["{urn:nexus-test}color"][0]
    assert dav(nexus, alice, "DELETE", "/q.txt").status_code == 204


def test_one_users_credentials_never_reach_another_users_tree(nexus, alice, bob):
    assert dav(nexus, alice, "PUT", "/secret.txt", body=b"alice only").status_code == 201
    assert dav(nexus, bob, "GET", "/secret.txt").status_code == 404
    assert dav(nexus, bob, "DELETE", "/secret.txt").status_code == 404
    r = dav(nexus, bob, "COPY", "/secret.txt",
            headers={"Destination": destination(nexus, "/mine.txt")})
    assert r.status_code == 404
    assert "/dav/secret.txt" not in multistatus(propfind(nexus, bob, "/", depth="1"))
    assert body_of(nexus, alice, "/secret.txt") == b"alice only"
    r = nexus.api.request("PROPFIND", "/dav/", headers={"Depth": "0"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert dav(nexus, alice, "DELETE", "/secret.txt").status_code == 204


def test_bad_input_is_a_clear_4xx_and_leaves_nothing_behind(nexus):
    user = registered_user(nexus, "davbad")
    cases = [
        ("PUT", "/a%2Fb.txt", {}, b"x", 400),
        ("PUT", "/a%00b.txt", {}, b"x", 400),
        ("PROPFIND", "/", {"Depth": "2"}, None, 400),
        ("PROPFIND", "/", {"Depth": "0"}, b"<D:propfind xmlns:D='DAV:'><D:prop>", 400),
        ("PROPFIND", "/", {"Depth": "0"},
         b"<!DOCTYPE a [<!ENTITY e 'e'>]><D:propfind xmlns:D='DAV:'><D:allprop/></D:propfind>",
         400),
        ("COPY", "/", {}, None, 400),
        ("MOVE", "/x", {"Destination": "/elsewhere"}, None, 403),
        ("PATCH", "/x", {}, None, 405),
    ]
    for method, path, headers, body, want in cases:
        r = dav(nexus, user, method, path, body=body, headers=headers)
        assert r.status_code == want, f"{method} {path}: {r.status_code} {r.text[:200]}"
    for method, target in (("MKCOL", "/dav/x/.."), ("PUT", "/dav/../etc"), ("PUT", "/dav/%2e%2e/x")):
        status, _, _ = raw_request(nexus.port, method, target,
                                   headers={"Authorization": f"Bearer {user.token}"},
                                   body=b"x" if method == "PUT" else b"")
        assert status == 400, f"{method} {target}: {status}"
    assert ls_ok(nexus, user, "/") == []
    assert usage(nexus, user)["used_bytes"] == 0


def test_the_nextcloud_alias_serves_the_same_tree(nexus, alice):
    assert dav(nexus, alice, "PUT", "/alias.txt", body=b"same",
               prefix="/remote.php/webdav").status_code == 201
    assert dav(nexus, alice, "GET", "/alias.txt").content == b"same"
    ms = multistatus(propfind(nexus, alice, "/", depth="1", prefix="/remote.php/webdav"))
    assert "/remote.php/webdav/alias.txt" in ms
    assert dav(nexus, alice, "DELETE", "/alias.txt").status_code == 204


LOCKINFO = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/>'
            '</D:lockscope><D:locktype><D:write/></D:locktype>'
            '<D:owner><D:href>nexus-e2e</D:href></D:owner></D:lockinfo>')


def test_locks_guard_writes_until_unlocked(nexus, alice):
    assert dav(nexus, alice, "MKCOL", "/lk").status_code == 201
    assert dav(nexus, alice, "PUT", "/lk/f.txt", body=b"v1").status_code == 201
    r = dav(nexus, alice, "LOCK", "/lk/f.txt", body=LOCKINFO.format(scope="exclusive"),
            headers={"Timeout": "Second-60", "Depth": "0"})
    assert r.status_code == 200, r.text
    token = r.headers["Lock-Token"].strip("<>")
    assert token in r.text and "Second-60" in r.text
    # Without the token: 423; with it: allowed; a wrong token: 412.
    assert dav(nexus, alice, "PUT", "/lk/f.txt", body=b"v2").status_code == 423
    assert dav(nexus, alice, "DELETE", "/lk").status_code == 423
    assert dav(nexus, alice, "PUT", "/lk/f.txt", body=b"v2",
               headers={"If": "(<opaquelocktoken:wrong>)"}).status_code == 412
    assert dav(nexus, alice, "PUT", "/lk/f.txt", body=b"v2",
               headers={"If": f"(<{token}>)"}).status_code == 204
    assert body_of(nexus, alice, "/lk/f.txt") == b"v2"
    ms = multistatus(propfind(nexus, alice, "/lk/f.txt", depth="0",
                              body='<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/>'
                                   '</D:prop></D:propfind>'))
    assert token in ET_text(ms["/dav/lk/f.txt"][DAV + "lockdiscovery"][1])
    # A second exclusive lock conflicts; a refresh by token works.
    assert dav(nexus, alice, "LOCK", "/lk/f.txt",
               body=LOCKINFO.format(scope="exclusive")).status_code == 423
    assert dav(nexus, alice, "LOCK", "/lk/f.txt",
               headers={"If": f"(<{token}>)", "Timeout": "Second-30"}).status_code == 200
    assert dav(nexus, alice, "UNLOCK", "/lk/f.txt",
               headers={"Lock-Token": f"<{token}>"}).status_code == 204
    assert dav(nexus, alice, "UNLOCK", "/lk/f.txt",
               headers={"Lock-Token": f"<{token}>"}).status_code == 409
    # A lock on an unmapped path makes an empty file there.
    r = dav(nexus, alice, "LOCK", "/lk/new.txt", body=LOCKINFO.format(scope="shared"))
    assert r.status_code == 201, r.text
    assert body_of(nexus, alice, "/lk/new.txt") == b""
    new_token = r.headers["Lock-Token"].strip("<>")
    assert dav(nexus, alice, "DELETE", "/lk",
               headers={"If": f"</dav/lk/new.txt> (<{new_token}>)"}).status_code == 204


def ET_text(element):
    return "".join(element.itertext())


def test_a_depth_0_folder_lock_guards_its_members_not_their_content(nexus, alice):
    """RFC 4918 §7.4: a depth-0 lock on a collection protects its member
    list (adding, removing, renaming members) but not the members' content."""
    assert dav(nexus, alice, "MKCOL", "/d0").status_code == 201
    assert dav(nexus, alice, "PUT", "/d0/kept.txt", body=b"v1").status_code == 201
    r = dav(nexus, alice, "LOCK", "/d0", body=LOCKINFO.format(scope="exclusive"),
            headers={"Depth": "0"})
    assert r.status_code == 200, r.text
    token = r.headers["Lock-Token"].strip("<>")
    held = {"If": f"</dav/d0> (<{token}>)"}
    # A member's content may change without the folder's token...
    assert dav(nexus, alice, "PUT", "/d0/kept.txt", body=b"v2").status_code == 204
    # ...but a new member, a removed one or a renamed one may not.
    assert dav(nexus, alice, "PUT", "/d0/new.txt", body=b"n").status_code == 423
    assert dav(nexus, alice, "MKCOL", "/d0/sub").status_code == 423
    assert dav(nexus, alice, "DELETE", "/d0/kept.txt").status_code == 423
    assert dav(nexus, alice, "MOVE", "/d0/kept.txt",
               headers={"Destination": destination(nexus, "/moved.txt")}).status_code == 423
    assert dav(nexus, alice, "COPY", "/d0/kept.txt",
               headers={"Destination": destination(nexus, "/d0/copy.txt")}).status_code == 423
    assert dav(nexus, alice, "GET", "/d0/new.txt").status_code == 404
    assert dav(nexus, alice, "GET", "/d0/kept.txt").content == b"v2"
    # With the token every one of them goes through.
    assert dav(nexus, alice, "PUT", "/d0/new.txt", body=b"n", headers=held).status_code == 201
    assert dav(nexus, alice, "MKCOL", "/d0/sub", headers=held).status_code == 201
    assert dav(nexus, alice, "DELETE", "/d0/new.txt", headers=held).status_code == 204
    assert dav(nexus, alice, "UNLOCK", "/d0",
               headers={"Lock-Token": f"<{token}>"}).status_code == 204
    assert dav(nexus, alice, "PUT", "/d0/new.txt", body=b"n").status_code == 201
    assert dav(nexus, alice, "DELETE", "/d0").status_code == 204


def test_get_of_a_folder_is_an_index_page_a_browser_can_walk(nexus, alice):
    assert dav(nexus, alice, "MKCOL", "/idx").status_code == 201
    assert dav(nexus, alice, "MKCOL", "/idx/sub dir").status_code == 201
    assert dav(nexus, alice, "PUT", "/idx/<x>&y.txt", body=b"12345").status_code == 201
    r = dav(nexus, alice, "GET", "/idx/")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'"
    assert '<a href="/dav/idx/sub%20dir/">sub dir/</a>' in r.text
    assert '<a href="/dav/idx/%3Cx%3E%26y.txt">&lt;x&gt;&amp;y.txt</a>' in r.text
    assert "<td>5</td>" in r.text and '<a href="/dav/">../</a>' in r.text
    # The links lead where they say.
    assert dav(nexus, alice, "GET", "/idx/<x>&y.txt").content == b"12345"
    r = dav(nexus, alice, "HEAD", "/idx")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert dav(nexus, alice, "DELETE", "/idx").status_code == 204


def test_limits_and_path_forms_that_must_not_slip_past_the_checks(nexus, alice):
    """Dot segments name the same folder (so its locks hold), the root is
    never locked, a lock's owner element and an If header are bounded, a
    failed LOCK keeps no file it made, a Destination on another server is
    502, and an entry's dead properties are bounded in bytes."""
    auth = {"Authorization": f"Bearer {alice.token}"}
    assert dav(nexus, alice, "MKCOL", "/lim").status_code == 201
    r = dav(nexus, alice, "LOCK", "/lim", body=LOCKINFO.format(scope="exclusive"),
            headers={"Depth": "0"})
    assert r.status_code == 200, r.text
    token = r.headers["Lock-Token"].strip("<>")
    status, _, _ = raw_request(nexus.port, "PUT", "/dav/lim/./new.txt", headers=auth, body=b"x")
    assert status == 423
    status, _, _ = raw_request(nexus.port, "LOCK", "/dav/./", headers=auth,
                               body=LOCKINFO.format(scope="exclusive").encode())
    assert status == 403
    big_owner = LOCKINFO.format(scope="shared").replace("nexus-e2e", "o" * 5000)
    assert dav(nexus, alice, "LOCK", "/lim", body=big_owner).status_code == 400
    tags = " ".join(f"</dav/lim/f{i}> (<{token}>)" for i in range(20))
    assert dav(nexus, alice, "PUT", "/lim/new.txt", body=b"x",
               headers={"If": tags}).status_code == 400
    # Under a deep exclusive lock, a LOCK of a new path that carries the
    # token makes the file, then conflicts: the file goes again.
    assert dav(nexus, alice, "UNLOCK", "/lim",
               headers={"Lock-Token": f"<{token}>"}).status_code == 204
    r = dav(nexus, alice, "LOCK", "/lim", body=LOCKINFO.format(scope="exclusive"),
            headers={"Depth": "infinity"})
    token = r.headers["Lock-Token"].strip("<>")
    r = dav(nexus, alice, "LOCK", "/lim/made.txt", body=LOCKINFO.format(scope="exclusive"),
            headers={"If": f"</dav/lim> (<{token}>)"})
    assert r.status_code == 423, r.text
    assert dav(nexus, alice, "GET", "/lim/made.txt").status_code == 404
    assert dav(nexus, alice, "UNLOCK", "/lim",
               headers={"Lock-Token": f"<{token}>"}).status_code == 204
    # COPY and MOVE stay on this server.
    assert dav(nexus, alice, "PUT", "/lim/a.txt", body=b"a").status_code == 201
    r = dav(nexus, alice, "COPY", "/lim/a.txt",
            headers={"Destination": "http://other.example/dav/lim/b.txt"})
    assert r.status_code == 502, r.text
    assert dav(nexus, alice, "GET", "/lim/b.txt").status_code == 404
    # 2 x 40 KB of dead properties on one entry is past its 64 KiB.
    value = "v" * 40000
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set>'
            f'<D:prop><Z:one>{value}</Z:one><Z:two>{value}</Z:two></D:prop>'
            '</D:set></D:propertyupdate>')
    r = dav(nexus, alice, "PROPPATCH", "/lim/a.txt", body=body)
    assert r.status_code == 507, r.text
    assert dav(nexus, alice, "DELETE", "/lim").status_code == 204
