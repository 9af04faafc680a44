"""Multi-tenant hardening of storage: the quota held while bytes stream in
(concurrent uploads, every way an upload ends, a daemon restart mid-upload)
and a full chunk store (507 without paths, recovered when space returns)."""

import os
import signal
import subprocess
import time

import pytest

from harness import assert_json_error, registered_user, upload, wait_until
from storage_probes import (FS_UPLOAD, KiB, MiB, PeakSampler, SETTLE_S, StreamingUpload, UPLOAD,
                            chunks_root, files_of, ls_names, need_root, put, store_bytes,
                            store_files, temp_files, usage, wait_store_settled)

# Reads the local chunk directory by hand (backends.py).
pytestmark = pytest.mark.local_store


# ------------------------------------------------ item 10: quota held while streaming


QUOTA = 8 * MiB


@pytest.fixture(scope="module")
def quota_inst(module_nexus_factory):
    return module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="reserve")


def test_concurrent_uploads_never_put_more_than_the_quota_on_disk(quota_inst, attach_logs):
    inst = quota_inst
    attach_logs(inst)
    user = registered_user(inst, "reserve")
    root = chunks_root(inst)
    baseline = wait_store_settled(root)
    size, count = 6 * MiB, 6  # each fits alone; together 36 MiB against 8
    blobs = [os.urandom(size) for _ in range(count)]
    ups = [StreamingUpload(inst.port, user.token, FS_UPLOAD, blob, path=f"/r/{i}.bin")
           for i, blob in enumerate(blobs)]
    try:
        with PeakSampler(root, baseline) as sampler:
            # All six stream at once, 256 KiB in turn, to 5 MiB each: before
            # the fix every one of them stored its chunks (~4-5 MiB each).
            for _ in range(5 * MiB // (256 * KiB)):
                for u in ups:
                    u.send(256 * KiB)
            wait_store_settled(root)
            results = [u.finish() for u in ups]
    finally:
        for u in ups:
            u.close()

    statuses = [s for s, _ in results]
    assert sampler.peak <= QUOTA, (
        f"the chunk store held {sampler.peak / MiB:.1f} MiB of this user's new data, "
        f"quota {QUOTA / MiB:.0f} MiB; answers {statuses}")
    winners = [i for i, (s, _) in enumerate(results) if s == 200]
    losers = [i for i, (s, _) in enumerate(results) if s != 200]
    assert len(winners) == 1 and len(losers) == count - 1, results
    for i in losers:
        status, body = results[i]
        assert status == 507 and "quota" in body["error"], results[i]
    u = usage(inst, user)
    assert u["used_bytes"] == size and u["files"] == 1, u
    assert ls_names(inst, user, "/r") == [f"{winners[0]}.bin"]
    r = inst.api.get("/api/fs/download", token=user.token, params={"path": f"/r/{winners[0]}.bin"})
    assert r.status_code == 200 and r.content == blobs[winners[0]]
    # Only the winner's chunks remain.
    wait_until(lambda: store_bytes(root) - baseline == size, SETTLE_S,
               f"the store holds {store_bytes(root) - baseline} bytes of new data, not {size}")
    assert not temp_files(root)
    inst.api.request("DELETE", "/api/fs/delete", token=user.token, params={"path": "/r"})


def test_every_way_an_upload_ends_gives_its_quota_back(quota_inst, attach_logs):
    """Disconnect, a bad request, a refusal and a daemon crash: after each,
    the whole quota can be used again by one upload."""
    inst = quota_inst
    attach_logs(inst)
    user = registered_user(inst, "giveback")
    root = chunks_root(inst)

    def whole_quota_fits():
        data = os.urandom(QUOTA)
        r = put(inst, user, "/full.bin", data)
        assert r.status_code == 200, f"{r.status_code} {r.text[:200]}"
        r = inst.api.request("DELETE", "/api/fs/delete", token=user.token,
                             params={"path": "/full.bin"})
        assert r.status_code == 200, r.text
        assert usage(inst, user)["used_bytes"] == 0

    # The client hangs up mid-body.
    baseline = wait_store_settled(root)
    u = StreamingUpload(inst.port, user.token, FS_UPLOAD, os.urandom(7 * MiB), path="/cut.bin")
    u.send(6 * MiB)
    wait_until(lambda: store_bytes(root) > baseline, SETTLE_S, "nothing of the upload was stored")
    u.reset()
    # Its chunks go first, then its reservation (a moment later).
    wait_until(lambda: store_bytes(root) == baseline, SETTLE_S, "the cut upload's chunks stayed")
    time.sleep(0.2)
    whole_quota_fits()

    # The path turns out bad after the bytes (400).
    r = upload(inst.api, user.token, FS_UPLOAD,
               [("file", "f.bin", os.urandom(6 * MiB)), ("path", None, b"/../x")])
    assert_json_error(r, 400)
    whole_quota_fits()

    # Refused for the quota itself (507).
    assert_json_error(put(inst, user, "/big.bin", os.urandom(QUOTA + MiB)), 507)
    whole_quota_fits()
    assert ls_names(inst, user) == []


def test_a_daemon_restart_mid_upload_leaves_nothing_reserved(nexus_factory):
    inst = nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="restart")
    user = registered_user(inst, "restart")
    u = StreamingUpload(inst.port, user.token, FS_UPLOAD, os.urandom(7 * MiB), path="/x.bin")
    try:
        u.send(6 * MiB)
        wait_store_settled(chunks_root(inst))
        inst.stop_service("nexusd", signal.SIGKILL)
    finally:
        u.close()
    inst.start_service("nexusd")
    inst.wait_healthy()
    r = put(inst, user, "/full.bin", os.urandom(QUOTA))
    assert r.status_code == 200, r.text
    assert usage(inst, user)["used_bytes"] == QUOTA


# ------------------------------------------------------- item 12: a full chunk store


def test_a_full_chunk_store_is_a_507_without_paths_and_recovers_when_space_returns(
        nexus_factory):
    need_root("mounting a small filesystem")
    inst = nexus_factory(name="full", start=False)
    mount_point = os.path.join(inst.data_dir, "small-chunks")
    os.mkdir(mount_point, 0o700)
    source = f"nexus-e2e-{inst.env['NEXUS_INSTANCE']}"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", source, mount_point],
                   check=True)
    try:
        inst.env["NEXUS_STORAGE_CHUNKS_DIR"] = mount_point
        inst.start()
        user = registered_user(inst, "full")
        kept = os.urandom(2 * MiB)
        r = upload(inst.api, user.token, UPLOAD, [("file", "kept.bin", kept)])
        assert r.status_code == 200, r.text
        kept_id = r.json()["id"]
        # Someone else's file fills the disk but for about 1 MiB.
        ballast = os.path.join(mount_point, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"\0" * (8 * MiB - store_bytes(mount_point) - MiB))
        before = set(store_files(mount_point))

        for route, parts in (
                (UPLOAD, [("file", "big.bin", os.urandom(4 * MiB))]),
                (FS_UPLOAD, [("path", None, b"/dir/big.bin"), ("file", "x", os.urandom(4 * MiB))]),
                (FS_UPLOAD, [("file", "x", os.urandom(4 * MiB)), ("path", None, b"/late.bin")]),
        ):
            r = upload(inst.api, user.token, route, parts)
            body = assert_json_error(r, 507)
            assert body == {"error": "insufficient storage"}, body
            assert mount_point not in r.text and inst.data_dir not in r.text
            # Nothing of the refused upload is left: no chunk, no temp file.
            wait_until(lambda: set(store_files(mount_point)) == before, SETTLE_S,
                       f"left behind: {sorted(set(store_files(mount_point)) - before)}")
        assert [f["id"] for f in files_of(inst, user)] == [kept_id]
        assert ls_names(inst, user) == []
        # What is stored still downloads.
        r = inst.api.get(f"/api/files/{kept_id}/download", token=user.token)
        assert r.status_code == 200 and r.content == kept
        # The operator, not the client, learns where the disk was full.
        assert mount_point in inst.logs()["nexusd"]

        # Space returns: the same uploads go through.
        os.unlink(ballast)
        data = os.urandom(4 * MiB)
        r = upload(inst.api, user.token, FS_UPLOAD,
                   [("path", None, b"/dir/big.bin"), ("file", "x", data)])
        assert r.status_code == 200, r.text
        r = inst.api.get("/api/fs/download", token=user.token, params={"path": "/dir/big.bin"})
        assert r.status_code == 200 and r.content == data
        assert not temp_files(mount_point)
        assert inst.api.get("/healthz").status_code == 200
    finally:
        inst.stop()
        for _ in range(50):
            if subprocess.run(["umount", mount_point], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", mount_point], check=False)
        os.rmdir(mount_point)
