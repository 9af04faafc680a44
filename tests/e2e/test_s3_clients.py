"""Real S3 clients nobody here wrote, against the S3 listener with an access
key from /api/s3-keys: rclone's s3 backend (provider Other) and s3cmd sync a
folder tree up and back down. Both compare the ETag with their own MD5 of
each file (`rclone check`, s3cmd's upload check and sync), so these also
prove the ETag is the content's MD5. Every file is checked byte-identical
through /api/fs/download too: buckets are the user's folders."""

import base64
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zlib

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


SDK_DIR = os.path.join(os.path.dirname(__file__), "s3_sdk")


def sdk_script():
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(SDK_DIR, "node_modules", "@aws-sdk")):
        skip_or_fail("node or the pinned AWS SDK is missing (scripts/install-deps.sh runs npm ci "
                     "in tests/e2e/s3_sdk)")
    return [node, os.path.join(SDK_DIR, "sdk_round_trip.mjs")]


def crc32_b64(data):
    return base64.b64encode((zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")).decode()


def test_aws_sdk_v3_uploads_with_crc32_trailers_and_downloads(nexus, s3cred):
    """The JavaScript SDK v3 as it ships: CRC32 checksums on by default, sent
    in aws-chunked trailers, for a single PUT, a streamed PUT and a
    lib-storage multipart upload; downloads checked by the SDK and by us."""
    bucket = bucket_name("sdk")
    with tempfile.TemporaryDirectory(prefix=f"nexus-e2e-sdk-{nexus.label}-") as tmp:
        path = os.path.join(tmp, "data.bin")
        data = os.urandom(11 * 1024 * 1024 + 12345)
        with open(path, "wb") as f:
            f.write(data)
        env = no_proxy_env()
        env.update(AWS_ACCESS_KEY_ID=s3cred.s3_key["access_key"],
                   AWS_SECRET_ACCESS_KEY=s3cred.s3_key["secret_key"])
        r = subprocess.run([*sdk_script(), f"http://127.0.0.1:{nexus.s3_port}", bucket, path],
                           capture_output=True, text=True, timeout=180, env=env, cwd=SDK_DIR)
        assert r.returncode == 0, f"sdk: {r.stdout[-2000:]} {r.stderr[-2000:]}"
    steps = [json.loads(line) for line in r.stdout.splitlines()]
    by_step = {}
    for s in steps:
        by_step.setdefault(s["step"], []).append(s)
    expect = by_step["expect"][0]
    gets = {g["key"]: g for g in by_step["get"]}
    assert gets["small.txt"]["sha256"] == expect["small_sha256"]
    for key in ("streamed.bin", "multi/big.bin"):
        assert gets[key]["sha256"] == expect["file_sha256"] and gets[key]["size"] == len(data)
    # The checksums the PUTs sent are kept and answered, so the SDK checked
    # them on the way down; the multipart object has none (not kept).
    assert gets["small.txt"]["crc32"] == crc32_b64(b"hello from the v3 SDK\n")
    assert gets["streamed.bin"]["crc32"] == crc32_b64(data)
    assert gets["multi/big.bin"]["crc32"] is None
    small = b"hello from the v3 SDK\n"
    assert by_step["put-small"][0]["etag"] == '"' + hashlib.md5(small).hexdigest() + '"'
    # The SDK sent a CRC32 (in a trailer for the stream) and we checked it:
    # only a checked checksum is answered back.
    assert by_step["put-small"][0]["crc32"] == crc32_b64(small)
    assert by_step["put-stream"][0]["crc32"] == crc32_b64(data)
    assert by_step["upload-multipart"][0]["etag"].endswith('-3"')
    assert by_step["head"][0]["type"] == "text/plain"
    assert sorted(by_step["list"][0]["keys"]) == ["multi/big.bin", "small.txt", "streamed.bin"]
    # The same bytes through the tree API: buckets are the user's folders.
    assert get(nexus, s3cred, f"/{bucket}/multi/big.bin").content == data
    assert get(nexus, s3cred, f"/{bucket}/small.txt").status_code == 404
