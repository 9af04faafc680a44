"""The Files API (/api/files/*) as calls of one user on one instance, for
the test_files*.py files, and how a browser reads a Content-Disposition."""

import re
import urllib.parse

from harness import upload


KiB = 1 << 10
MiB = 1 << 20
UPLOAD = "/api/files/upload"
FILE_FIELDS = {"id", "name", "size", "chunks_count", "status", "created_at", "sha256"}


def upload_bytes(inst, user, data, name="data.bin"):
    r = upload(inst.api, user.token, UPLOAD, [("file", name, data)])
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    return r.json()


def list_files(inst, user):
    r = inst.api.get("/api/files", token=user.token)
    assert r.status_code == 200, r.text
    files = r.json()
    assert isinstance(files, list), files
    return files


def content_disposition_name(header):
    """The file name a browser would take from a Content-Disposition value
    (filename*= wins over filename=), after checking the value is safe."""
    assert "\r" not in header and "\n" not in header, repr(header)
    assert re.match(r"^attachment\s*(;|$)", header, re.I), header
    star = re.search(r"filename\*\s*=\s*([^;]+)", header, re.I)
    if star:
        value = star.group(1).strip()
        charset, _, encoded = value.partition("''")
        assert charset.lower() == "utf-8", header
        # RFC 5987 attr-char only: a decoded value cannot smuggle anything.
        assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]*", encoded), header
        return urllib.parse.unquote(encoded, errors="strict")
    plain = re.search(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"', header, re.I)
    assert plain, f"no filename in {header!r}"
    return re.sub(r"\\(.)", r"\1", plain.group(1))
