"""Real S3 clients nobody here wrote, against the S3 listener with an access
key from /api/s3-keys: rclone's s3 backend (provider Other) and s3cmd sync a
folder tree up and back down. Both compare the ETag with their own MD5 of
each file (`rclone check`, s3cmd's upload check and sync), so these also
prove the ETag is the content's MD5. Every file is checked byte-identical
through /api/fs/download too: buckets are the user's folders."""

import filecmp
import os
import shutil
import subprocess
import tempfile

import pytest

from fs_routes import get, put_ok
from harness import registered_user, skip_or_fail, unique
from test_dav_clients import make_tree, rclone_path


@pytest.fixture
def s3cred(nexus):
    user = registered_user(nexus, "s3c")
    r = nexus.api.post("/api/s3-keys", token=user.token)
    assert r.status_code == 201, r.text
    user.s3_key = r.json()
    return user


def no_proxy_env():
    return {k: v for k, v in os.environ.items()
            if "proxy" not in k.lower() and not k.startswith(("AWS_", "RCLONE_"))}


def bucket_name(prefix):
    return unique(prefix).lower().replace("_", "-")[:63]


def rclone(nexus, user, *args):
    key = user.s3_key
    remote = (f":s3,provider=Other,access_key_id={key['access_key']},"
              f"secret_access_key={key['secret_key']},region=us-east-1,"
              f"endpoint='http://127.0.0.1:{nexus.s3_port}',force_path_style=true:")
    cmd = [rclone_path(), "--config", "/dev/null", "--low-level-retries", "1", "--retries", "1",
           *[a.replace("REMOTE:", remote) for a in args]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=no_proxy_env())
    assert r.returncode == 0, f"rclone {' '.join(args)}: {r.stderr[-2000:]}"
    return r.stdout + r.stderr


def test_rclone_syncs_a_tree_both_ways_and_checks_md5s(nexus, s3cred):
    bucket = bucket_name("rc")
    with tempfile.TemporaryDirectory(prefix=f"nexus-e2e-s3-{nexus.label}-") as tmp:
        up, down = os.path.join(tmp, "up"), os.path.join(tmp, "down")
        files = make_tree(up)
        rclone(nexus, s3cred, "mkdir", f"REMOTE:{bucket}")
        rclone(nexus, s3cred, "sync", up, f"REMOTE:{bucket}/tree")
        for rel, data in files.items():
            r = get(nexus, s3cred, f"/{bucket}/tree/{rel}")
            assert r.status_code == 200 and r.content == data, rel
        # check compares sizes and MD5s: the listing's ETags must be them.
        out = rclone(nexus, s3cred, "check", up, f"REMOTE:{bucket}/tree")
        assert f"{len(files)} matching files" in out, out
        assert "hashes could not be checked" not in out, out

        put_ok(nexus, s3cred, f"/{bucket}/tree/sub dir/server.txt", b"from the server")
        rclone(nexus, s3cred, "sync", f"REMOTE:{bucket}/tree", down)
        files["sub dir/server.txt"] = b"from the server"
        for rel, data in files.items():
            with open(os.path.join(down, rel), "rb") as f:
                assert f.read() == data, rel
        cmp = filecmp.dircmp(up, down)
        assert not cmp.left_only and not cmp.diff_files, (cmp.left_only, cmp.diff_files)
        # A second sync up removes the server's extra file, and nothing else.
        rclone(nexus, s3cred, "sync", up, f"REMOTE:{bucket}/tree")
        assert get(nexus, s3cred, f"/{bucket}/tree/sub dir/server.txt").status_code == 404
        rclone(nexus, s3cred, "purge", f"REMOTE:{bucket}")
        assert get(nexus, s3cred, f"/{bucket}/tree/a.txt").status_code == 404


def s3cmd_path():
    path = shutil.which("s3cmd")
    if not path:
        skip_or_fail("s3cmd is not installed (scripts/install-deps.sh installs it)")
    return path


def test_s3cmd_puts_lists_syncs_and_gets(nexus, s3cred):
    bucket = bucket_name("sc")
    with tempfile.TemporaryDirectory(prefix=f"nexus-e2e-s3cmd-{nexus.label}-") as tmp:
        cfg = os.path.join(tmp, "s3cfg")
        host = f"127.0.0.1:{nexus.s3_port}"
        with open(cfg, "w") as f:
            f.write("[default]\n"
                    f"access_key = {s3cred.s3_key['access_key']}\n"
                    f"secret_key = {s3cred.s3_key['secret_key']}\n"
                    f"host_base = {host}\nhost_bucket = {host}\n"
                    "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")

        def s3cmd(*args):
            r = subprocess.run([s3cmd_path(), "-c", cfg, *args], capture_output=True, text=True,
                               timeout=120, env=no_proxy_env())
            assert r.returncode == 0, f"s3cmd {' '.join(args)}: {r.stdout[-1000:]} {r.stderr[-2000:]}"
            return r.stdout + r.stderr

        up, down = os.path.join(tmp, "up"), os.path.join(tmp, "down")
        files = make_tree(up)
        s3cmd("mb", f"s3://{bucket}")
        one = os.path.join(up, "a.txt")
        out = s3cmd("put", one, f"s3://{bucket}/one/a.txt")
        # s3cmd compares the answered ETag with its MD5 and warns on a mismatch.
        assert "MD5 Sums don't match" not in out, out
        assert f"s3://{bucket}/one/a.txt" in s3cmd("ls", f"s3://{bucket}/one/")
        s3cmd("sync", up + "/", f"s3://{bucket}/tree/")
        for rel, data in files.items():
            r = get(nexus, s3cred, f"/{bucket}/tree/{rel}")
            assert r.status_code == 200 and r.content == data, rel
        # Nothing changed: a second sync uploads nothing (it compares MD5s).
        again = s3cmd("sync", "--dry-run", up + "/", f"s3://{bucket}/tree/")
        assert "upload:" not in again, again
        s3cmd("sync", f"s3://{bucket}/tree/", down + "/")
        cmp = filecmp.dircmp(up, down)
        assert not cmp.left_only and not cmp.right_only and not cmp.diff_files
        for rel, data in files.items():
            with open(os.path.join(down, rel), "rb") as f:
                assert f.read() == data, rel
        got = os.path.join(tmp, "got.txt")
        s3cmd("get", f"s3://{bucket}/one/a.txt", got)
        with open(got, "rb") as f:
            assert f.read() == files["a.txt"]
        s3cmd("del", "--recursive", "--force", f"s3://{bucket}/")
        s3cmd("rb", f"s3://{bucket}")
        assert get(nexus, s3cred, f"/{bucket}/one/a.txt").status_code == 404
