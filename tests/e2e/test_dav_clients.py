"""Real WebDAV clients against /dav/: rclone's webdav backend (vendor
"other" on /dav, vendor "nextcloud" on /remote.php/webdav), signed in with
an app password, syncs a folder tree up and back down; every file is
checked byte-identical through /api/fs/download, and what the server
changed comes back to the client."""

import filecmp
import os
import shutil
import subprocess
import tempfile

import pytest

from fs_routes import MiB, get, put_ok
from harness import skip_or_fail


def rclone_path():
    path = shutil.which("rclone")
    if not path:
        skip_or_fail("rclone is not installed (scripts/install-deps.sh installs it)")
    return path


def make_tree(root):
    """A small tree with nested folders, an empty file, UTF-8 and spaces in
    names and one file large enough for several upload messages."""
    files = {
        "a.txt": b"alpha\n",
        "empty.bin": b"",
        "sub dir/b.txt": b"bravo " * 1000,
        "sub dir/deeper/r\u00e9sum\u00e9.md": "caf\u00e9 \u2615\n".encode(),
        "big/blob.bin": os.urandom(3 * MiB + 5),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return files


def rclone_login(inst, user):
    """rclone signs in as desktop clients do: the username and an app
    password, which rclone keeps obscured (`rclone obscure`)."""
    r = inst.api.post("/api/app-passwords", token=user.token, json={"name": "rclone"})
    assert r.status_code == 201, r.text
    obscured = subprocess.run([rclone_path(), "obscure", r.json()["password"]],
                              capture_output=True, text=True, check=True).stdout.strip()
    return f"user='{user.username}',pass='{obscured}'"


def rclone(inst, login, vendor, *args):
    prefix = "/remote.php/webdav" if vendor == "nextcloud" else "/dav"
    remote = f":webdav,url='{inst.api.base_url}{prefix}',vendor={vendor},{login}:"
    cmd = [rclone_path(), "--config", "/dev/null", "--low-level-retries", "1", "--retries", "1",
           *[a.replace("REMOTE:", remote) for a in args]]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, f"{' '.join(args)}: {r.stderr[-2000:]}"
    return r.stdout


@pytest.mark.parametrize("vendor", ["other", "nextcloud"])
def test_rclone_syncs_a_tree_both_ways(nexus, alice, vendor):
    with tempfile.TemporaryDirectory(prefix=f"nexus-e2e-dav-{nexus.label}-") as tmp:
        up = os.path.join(tmp, "up")
        down = os.path.join(tmp, "down")
        files = make_tree(up)
        login = rclone_login(nexus, alice)
        rclone(nexus, login, vendor, "sync", up, f"REMOTE:rc-{vendor}")
        for rel, data in files.items():
            r = get(nexus, alice, f"/rc-{vendor}/{rel}")
            assert r.status_code == 200, f"{rel}: {r.status_code} {r.text[:200]}"
            assert r.content == data, rel
        # The server side changes: a new file through the JSON API.
        put_ok(nexus, alice, f"/rc-{vendor}/sub dir/server.txt", b"from the server")
        rclone(nexus, login, vendor, "sync", f"REMOTE:rc-{vendor}", down)
        files["sub dir/server.txt"] = b"from the server"
        for rel, data in files.items():
            with open(os.path.join(down, rel), "rb") as f:
                assert f.read() == data, rel
        cmp = filecmp.dircmp(up, down)
        assert not cmp.left_only and not cmp.diff_files, (cmp.left_only, cmp.diff_files)
        # A second sync up has nothing to do and removes the server's extra file.
        rclone(nexus, login, vendor, "sync", up, f"REMOTE:rc-{vendor}")
        assert get(nexus, alice, f"/rc-{vendor}/sub dir/server.txt").status_code == 404
        rclone(nexus, login, vendor, "purge", f"REMOTE:rc-{vendor}")
        assert get(nexus, alice, f"/rc-{vendor}/a.txt").status_code == 404
