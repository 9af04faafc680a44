"""The raw Files API: hostile file names are stored safely and served with a
Content-Disposition a browser reads back as the same, harmless name."""

import os

import pytest

from files_api import UPLOAD, content_disposition_name, list_files
from harness import upload


# ---------------------------------------------------------------- hostile names


NAMES = [
    # (name as sent via filename=, via filename*=, must not contain)
    ("../../etc/passwd", None),
    ("..\\..\\windows\\win.ini", None),
    ("x", "a\r\nb"),
    ("x", "evil\"; filename=\"other.exe"),
    ("x", "r\u00e9sum\u00e9 \u00fc \u6587\u4ef6.txt"),
    ("x", "tab\there\x00nul"),
    ("..", None),
]


@pytest.mark.parametrize("plain,star", NAMES, ids=[repr(star or p) for p, star in NAMES])
def test_hostile_names_are_stored_safely_and_served_with_a_safe_disposition(nexus, alice, plain,
                                                                          star):
    data = os.urandom(100)
    r = upload(nexus.api, alice.token, UPLOAD, [("file", plain, data, star)])
    assert r.status_code == 200, r.text
    info = r.json()
    name = info["name"]
    sent = star if star is not None else plain
    assert name, info
    for bad in ("/", "\\", "\r", "\n", "\x00", "\t"):
        assert bad not in name, f"{sent!r} stored as {name!r}"
    assert name not in (".", ".."), name
    if star is not None and "\u00e9" in star:
        assert name == star, "a harmless UTF-8 name is kept as sent"

    listed = [f for f in list_files(nexus, alice) if f["id"] == info["id"]]
    assert [f["name"] for f in listed] == [name]
    d = nexus.api.get(f"/api/files/{info['id']}/download", token=alice.token)
    assert d.status_code == 200, d.text
    assert d.content == data
    assert content_disposition_name(d.headers.get("Content-Disposition", "")) == name
