"""How nexus-api serves the web UI's files, seen over HTTP: index.html at
"/", types, ETag/304, gzip, the security headers, nothing outside the
files, the API's own answers unchanged; and the signed download links the
UI uses (no Authorization header, one path, expiring, unforgeable, and
honoured by every gateway that shares the link key).
"""

import hashlib
import os
import subprocess

from harness import STOP_TIMEOUT_S, Api, free_port, start_second_gateway
from http_client import assert_json_error, raw_request

WEB = os.path.join(os.path.dirname(__file__), "..", "..", "web")


def test_the_root_serves_index_html_with_the_security_headers(nexus):
    r = nexus.api.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    with open(os.path.join(WEB, "index.html"), "rb") as f:
        assert r.content == f.read()
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-cache"


def test_files_have_their_type_an_etag_and_a_gzip_copy(nexus):
    r = nexus.api.get("/js/app.js", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Content-Encoding" not in r.headers
    etag = r.headers["ETag"]
    again = nexus.api.get("/js/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    gz = nexus.api.get("/css/app.css", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gz.headers["Vary"] == "Accept-Encoding"
    assert int(gz.headers["Content-Length"]) < os.path.getsize(os.path.join(WEB, "css/app.css"))
    assert nexus.api.get("/favicon.svg").headers["Content-Type"] == "image/svg+xml"
    assert nexus.api.get("/ui-settings.json").json() == {"mail_outbox": False}


def test_nothing_outside_the_ui_files_is_served(nexus):
    for target in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/js/..%2f..%2fREADME.md",
                   "/js/../../README.md", "/.git/config", "/js/", "/nope.html",
                   "/index.html%00.js"):
        status, _, body = raw_request(nexus.port, "GET", target)
        assert status in (400, 404), (target, status)
        assert b"root:" not in body and b"# Nexus" not in body, target
    assert_json_error(nexus.api.post("/js/app.js"), 405)


def test_api_routes_answer_as_before(nexus):
    assert_json_error(nexus.api.get("/api/me"), 401)
    assert_json_error(nexus.api.get("/api/nope"), 404)
    assert nexus.api.get("/healthz").status_code == 200


def test_a_signed_link_downloads_one_path_without_a_token(nexus, alice, bob):
    data = os.urandom(300_000)
    r = nexus.api.post("/api/fs/upload", params={"path": "/docs/a.bin"}, token=alice.token,
                       files={"file": ("a.bin", data)})
    assert r.status_code == 200, r.text
    assert_json_error(nexus.api.post("/api/fs/download-link", json={"path": "/docs/a.bin"}), 401)
    minted = nexus.api.post("/api/fs/download-link", json={"path": "/docs/a.bin"},
                            token=alice.token)
    assert minted.headers["Cache-Control"] == "no-store"
    link = minted.json()
    assert link["url"].startswith("/dl/")

    got = nexus.api.get(link["url"])
    assert got.status_code == 200
    # No Authorization header on the request: the answer says not to cache it.
    assert got.headers["Cache-Control"] == "private, no-store"
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert "a.bin" in got.headers["Content-Disposition"]
    part = nexus.api.get(link["url"], headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    # The signed path wins over a query; Bob's link names Bob's tree.
    assert nexus.api.get(link["url"] + "?path=/other").content == data
    bobs = nexus.api.post("/api/fs/download-link", json={"path": "/docs/a.bin"},
                          token=bob.token).json()
    assert_json_error(nexus.api.get(bobs["url"]), 404)
    token = link["url"][len("/dl/"):]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_json_error(nexus.api.get("/dl/" + forged), 401)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_a_link_minted_by_one_gateway_downloads_through_another(nexus, alice):
    data = os.urandom(200_000)
    r = nexus.api.post("/api/fs/upload", params={"path": "/docs/shared.bin"}, token=alice.token,
                       files={"file": ("shared.bin", data)})
    assert r.status_code == 200, r.text
    link = nexus.api.post("/api/fs/download-link", json={"path": "/docs/shared.bin"},
                          token=alice.token).json()
    # A second gateway on the same data dir reads the key the first wrote.
    proc, port = start_second_gateway(nexus)
    try:
        other = Api(f"http://127.0.0.1:{port}")
        got = other.get(link["url"])
        assert got.status_code == 200 and got.content == data
        # And the other way round.
        back = other.post("/api/fs/download-link", json={"path": "/docs/shared.bin"},
                          token=alice.token).json()
        assert nexus.api.get(back["url"]).content == data
    finally:
        _stop(proc)
    # A restarted gateway keeps honouring the links minted before.
    proc, port = start_second_gateway(nexus, label="nexus-api-3")
    try:
        assert Api(f"http://127.0.0.1:{port}").get(back["url"]).content == data
    finally:
        _stop(proc)


def test_a_gateway_refuses_a_link_key_others_may_read(nexus, tmp_path):
    key = tmp_path / "download-link.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o644)
    env = dict(nexus.env, NEXUS_GATEWAY_LISTEN=f"127.0.0.1:{free_port()}",
               NEXUS_GATEWAY_DOWNLOAD_LINK_KEY_FILE=str(key))
    r = subprocess.run([os.path.join(nexus.build_dir, "src/gateway/nexus-api")], env=env,
                       cwd=str(tmp_path), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=STOP_TIMEOUT_S * 2)
    assert r.returncode != 0
    assert b"chmod 600" in r.stdout + r.stderr
    # Mode 0600 but not 32 bytes: refused too.
    key.write_bytes(b"short")
    key.chmod(0o600)
    r = subprocess.run([os.path.join(nexus.build_dir, "src/gateway/nexus-api")], env=env,
                       cwd=str(tmp_path), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=STOP_TIMEOUT_S * 2)
    assert r.returncode != 0
    assert b"not 32" in r.stdout + r.stderr
