"""How nexus-api serves the web UI's files, seen over HTTP: index.html at
"/", types, ETag/304, gzip, the security headers, nothing outside the
files, the API's own answers unchanged; and the signed download links the
UI uses (no Authorization header, one path, expiring, unforgeable).
"""

import hashlib
import os

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
    link = nexus.api.post("/api/fs/download-link", json={"path": "/docs/a.bin"},
                          token=alice.token).json()
    assert link["url"].startswith("/dl/")

    got = nexus.api.get(link["url"])
    assert got.status_code == 200
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
