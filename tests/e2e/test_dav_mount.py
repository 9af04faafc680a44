"""WebDAV mounted as a file system: Debian's davfs2 (mount.davfs, a FUSE
file system that locks files while they are open for writing) mounts /dav/
of a real instance, signed in with an app password. Files written, renamed
and removed through the mount arrive in the user's tree and are read back
byte-identical through /api/fs/download; what the JSON API writes is seen in
the mount. Needs root and /dev/fuse (CI is root); the mount, its cache and
its secrets live in a temp dir named after the test instance and are removed
when the test ends, pass or fail."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from fs_routes import MiB, get, put_ok
from harness import skip_or_fail


def davfs_ready():
    if os.geteuid() != 0:
        skip_or_fail("mounting davfs needs root")
    if not shutil.which("mount.davfs"):
        skip_or_fail("davfs2 is not installed (scripts/install-deps.sh installs it)")
    if not os.path.exists("/dev/fuse"):
        skip_or_fail("/dev/fuse is missing: davfs2 mounts through FUSE")


def no_proxy_env():
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


class DavfsMount:
    """One davfs2 mount of /dav/<folder> with a config, secrets file and
    cache of its own, so nothing host-wide (/etc/davfs2) is read or written.
    lost+found in the mount is davfs2's own local folder for files it could
    not store, never sent to the server."""

    def __init__(self, nexus, user, folder, tmp):
        r = nexus.api.post("/api/app-passwords", token=user.token, json={"name": "davfs2"})
        assert r.status_code == 201, r.text
        self.secret = r.json()["password"]
        self.url = f"{nexus.api.base_url}/dav/{folder}/"
        self.point = os.path.join(tmp, "mnt")
        self.conf = os.path.join(tmp, "davfs2.conf")
        secrets = os.path.join(tmp, "secrets")
        cache = os.path.join(tmp, "cache")
        os.makedirs(self.point)
        os.makedirs(cache)
        # mount.davfs run by root wants the cache as its system cache is made:
        # root's, group davfs2 (the user its daemon drops to), mode 775.
        shutil.chown(cache, user="root", group="davfs2")
        os.chmod(cache, 0o775)
        fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f'"{self.url}" {user.username} "{self.secret}"\n')
        # buf_size 64 (KiB): davfs2 before 1.7.2 answers FUSE directory reads
        # that kernels from 6.16 on refuse with EINVAL when its buffer is
        # smaller than the kernel's read; a larger buffer avoids the bug.
        with open(self.conf, "w") as f:
            f.write(f"secrets {secrets}\ncache_dir {cache}\nask_auth 0\nbuf_size 64\n"
                    "use_locks 1\ndelay_upload 0\nfile_refresh 0\ndir_refresh 0\n")

    def mount(self):
        r = subprocess.run(["mount.davfs", self.url, self.point, "-o", f"conf={self.conf},rw"],
                           capture_output=True, text=True, timeout=60, env=no_proxy_env(),
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert mounted(self.point)
        assert self.secret not in r.stdout + r.stderr

    def unmount(self):
        """umount waits until every cached write is stored on the server."""
        if mounted(self.point):
            r = subprocess.run(["umount", self.point], capture_output=True, text=True,
                               timeout=120)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", self.point], capture_output=True, timeout=30)
                raise AssertionError(f"umount: {r.stderr}")
        # mount.davfs leaves after the umount; its pid file goes with it.
        for _ in range(100):
            if subprocess.run(["pgrep", "-f", f"mount.davfs {self.url}"],
                              capture_output=True).returncode != 0:
                break
            time.sleep(0.1)
        assert not mounted(self.point)


@pytest.fixture
def davfs(nexus, alice):
    davfs_ready()
    r = nexus.api.post("/api/fs/mkdir", token=alice.token, json={"path": "/mounted"})
    assert r.status_code in (200, 201), r.text
    tmp = tempfile.mkdtemp(prefix=f"nexus-e2e-davfs-{nexus.label}-")
    os.chmod(tmp, 0o711)  # davfs2's user passes through to its cache
    m = DavfsMount(nexus, alice, "mounted", tmp)
    try:
        yield m
    finally:
        try:
            m.unmount()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def test_davfs2_mount_writes_reads_renames_and_removes(nexus, alice, davfs):
    # Written before the mount: davfs2 trusts what it listed for up to a
    # second even with file_refresh 0.
    put_ok(nexus, alice, "/mounted/from-api.txt", b"written by the JSON API\n")
    davfs.mount()
    assert sorted(os.listdir(davfs.point)) == ["from-api.txt", "lost+found"]
    with open(os.path.join(davfs.point, "from-api.txt"), "rb") as f:
        assert f.read() == b"written by the JSON API\n"

    big = os.urandom(5 * MiB + 123)
    os.makedirs(os.path.join(davfs.point, "docs", "deep"))
    with open(os.path.join(davfs.point, "docs", "deep", "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(davfs.point, "docs", "r\u00e9sum\u00e9 1.md"), "w") as f:
        f.write("caf\u00e9\n")
    with open(os.path.join(davfs.point, "gone.txt"), "w") as f:
        f.write("short-lived")
    os.rename(os.path.join(davfs.point, "docs", "r\u00e9sum\u00e9 1.md"),
              os.path.join(davfs.point, "docs", "cv.md"))
    os.remove(os.path.join(davfs.point, "gone.txt"))
    os.remove(os.path.join(davfs.point, "from-api.txt"))

    # Unmounting writes every cached change back before it returns.
    davfs.unmount()
    r = get(nexus, alice, "/mounted/docs/deep/big.bin")
    assert r.status_code == 200, r.text[:200]
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(big).digest()
    r = get(nexus, alice, "/mounted/docs/cv.md")
    assert r.status_code == 200 and r.content == "caf\u00e9\n".encode()
    for gone in ("/mounted/docs/r\u00e9sum\u00e9 1.md", "/mounted/gone.txt",
                 "/mounted/from-api.txt"):
        assert get(nexus, alice, gone).status_code == 404, gone
    # davfs2 locked the file while it was open for writing (class 2), and
    # keeps no lock behind: the file can be replaced over the API.
    access = nexus.logs()["nexus-api"]
    assert re.search(r" LOCK /dav/mounted/docs/deep/big\.bin 20[01] ", access)
    assert re.search(r" UNLOCK /dav/mounted/docs/deep/big\.bin 204 ", access)
    assert davfs.secret not in access
    put_ok(nexus, alice, "/mounted/docs/cv.md", b"replaced")


def test_davfs2_sees_only_the_signed_in_users_tree(nexus, alice, bob, davfs):
    r = nexus.api.post("/api/fs/mkdir", token=bob.token, json={"path": "/mounted"})
    assert r.status_code in (200, 201), r.text
    put_ok(nexus, bob, "/mounted/bobs.txt", b"bob's")
    davfs.mount()
    assert not os.path.exists(os.path.join(davfs.point, "bobs.txt"))
    with open(os.path.join(davfs.point, "alices.txt"), "w") as f:
        f.write("alice's")
    davfs.unmount()
    assert get(nexus, alice, "/mounted/alices.txt").content == b"alice's"
    assert get(nexus, bob, "/mounted/alices.txt").status_code == 404
