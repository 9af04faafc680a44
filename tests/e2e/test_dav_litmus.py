"""WebDAV through the clients' own sign-in: HTTP Basic with an app password.

Debian's `litmus` (the WebDAV conformance suite) runs its groups basic,
copymove, props, locks and http against /dav/ of a real instance, signed in
with an app password; every group's summary line must say all its tests
passed, and a warning or a failure anywhere fails the test. Beside it: the
account password is never accepted on /dav/, a revoked app password stops
working on the next request, and one user's app password never reaches
another user's tree."""

import base64
import os
import re
import shutil
import subprocess

import pytest

from fs_routes import get, put_ok
from harness import skip_or_fail

LITMUS_GROUPS = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(
    r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed\. ([\d.]+)%")


def app_password(nexus, user, name="webdav"):
    r = nexus.api.post("/api/app-passwords", token=user.token, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def basic(username, password):
    raw = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def propfind(nexus, path, headers):
    return nexus.api.request("PROPFIND", f"/dav{path}", headers={"Depth": "0", **headers})


def test_litmus_passes_every_group_signed_in_with_an_app_password(nexus, alice, tmp_path):
    litmus = shutil.which("litmus")
    if not litmus:
        skip_or_fail("litmus is not installed (scripts/install-deps.sh installs it)")
    secret = app_password(nexus, alice, "litmus")["password"]
    r = nexus.api.post("/api/fs/mkdir", token=alice.token, json={"path": "/litmus-home"})
    assert r.status_code in (200, 201), r.text
    url = f"{nexus.api.base_url}/dav/litmus-home/"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["TESTS"] = " ".join(LITMUS_GROUPS)
    # litmus writes debug.log and child.log into its working directory.
    r = subprocess.run([litmus, "-k", url, alice.username, secret], capture_output=True,
                       text=True, timeout=600, env=env, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert secret not in out
    summaries = {m.group(1): m for m in SUMMARY.finditer(out)}
    assert set(summaries) == set(LITMUS_GROUPS), out[-4000:]
    for group, m in summaries.items():
        run, passed, failed = int(m.group(2)), int(m.group(3)), int(m.group(4))
        assert run > 0 and failed == 0 and passed == run, f"{group}: {m.group(0)}\n{out[-4000:]}"
    warnings = [line for line in out.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    assert r.returncode == 0, out[-4000:]
    assert secret not in nexus.logs_text(tail=100000)


def test_the_account_password_never_signs_in_to_dav(nexus, alice):
    put_ok(nexus, alice, "/acct/a.txt", b"a")
    r = propfind(nexus, "/acct/a.txt", basic(alice.username, alice.password))
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    secret = app_password(nexus, alice)["password"]
    r = propfind(nexus, "/acct/a.txt", basic(alice.username, secret))
    assert r.status_code == 207, r.text


def test_no_credentials_get_the_basic_challenge(nexus):
    r = nexus.api.request("PROPFIND", "/dav/", headers={"Depth": "0"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Nexus", charset="UTF-8"'
    assert "error" in r.json()


def test_a_revoked_app_password_stops_on_the_next_request(nexus, alice):
    put_ok(nexus, alice, "/rev/a.txt", b"abc")
    made = app_password(nexus, alice, "to revoke")
    creds = basic(alice.username, made["password"])
    r = nexus.api.get("/dav/rev/a.txt", headers=creds)
    assert r.status_code == 200 and r.content == b"abc"
    r = nexus.api.request("DELETE", f"/api/app-passwords/{made['id']}", token=alice.token)
    assert r.status_code == 204
    r = nexus.api.get("/dav/rev/a.txt", headers=creds)
    assert r.status_code == 401


@pytest.mark.parametrize("prefix", ["/dav", "/remote.php/webdav"])
def test_an_app_password_reaches_only_its_owners_tree(nexus, alice, bob, prefix):
    put_ok(nexus, alice, "/mine/secret.txt", b"alice's")
    put_ok(nexus, bob, "/mine/secret.txt", b"bob's")
    bobs_secret = app_password(nexus, bob)["password"]
    creds = basic(bob.username, bobs_secret)
    r = nexus.api.get(f"{prefix}/mine/secret.txt", headers=creds)
    assert r.status_code == 200 and r.content == b"bob's"
    # Bob's app password with Alice's name is simply wrong credentials.
    r = nexus.api.get(f"{prefix}/mine/secret.txt",
                      headers=basic(alice.username, bobs_secret))
    assert r.status_code == 401
    r = nexus.api.request("PUT", f"{prefix}/mine/new.txt", headers=creds, data=b"x")
    assert r.status_code in (201, 204), r.text
    assert get(nexus, alice, "/mine/new.txt").status_code == 404
    assert get(nexus, alice, "/mine/secret.txt").content == b"alice's"
