"""Multi-tenant hardening of storage: a delete or a replace is committed
on disk before its chunk files are unlinked (watched with strace)."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from harness import registered_user, skip_or_fail, upload, wait_until
from storage_probes import MiB, SETTLE_S, UPLOAD, chunks_root, need_root, put, store_files

# Reads the local chunk directory and nexus.db by hand (backends.py).
pytestmark = pytest.mark.local_store


# ------------------------------------------------- item 9: committed means durable


class Strace:
    """strace -f on a running process: the fsyncs and unlinks it makes, in order."""

    def __init__(self, pid, out_path):
        self.out_path = out_path
        self.proc = subprocess.Popen(
            ["strace", "-f", "-y", "-s", "4096", "-e", "trace=fsync,fdatasync,unlink,unlinkat", "-o",
             str(out_path), "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # strace says "Process N attached" for each thread it took.
        line = self.proc.stderr.readline()
        if "attached" not in line:
            self.proc.kill()
            skip_or_fail(f"strace could not attach: {line.strip()}")
        time.sleep(0.5)  # the other threads' attach messages

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.out_path) as f:
            return f.read().splitlines()


SYSCALL_RE = re.compile(r"^(\d+)\s+(?:(\w+)\((.*)|<\.\.\. (\w+) resumed>(.*))$")


def durability_events(lines):
    """The trace as events in order: ("wal-synced",) when an fsync or fdatasync
    of nexus.db-wal returned 0, ("unlink", path) when an unlink started."""
    events, pending = [], {}
    for line in lines:
        m = SYSCALL_RE.match(line)
        if not m:
            continue
        pid = m.group(1)
        if m.group(2):  # a call, whole or unfinished
            name, rest = m.group(2), m.group(3)
            if name in ("fsync", "fdatasync") and "nexus.db-wal>" in rest:
                if "<unfinished" in rest:
                    pending[pid] = True
                elif re.search(r"\)\s+= 0", rest):
                    events.append(("wal-synced",))
            elif name in ("unlink", "unlinkat"):
                path = re.search(r'"([^"]+)"', rest)
                if path:
                    events.append(("unlink", path.group(1)))
        else:  # a resumed call
            if m.group(4) in ("fsync", "fdatasync") and pending.pop(pid, False):
                if re.search(r"\)\s+= 0", m.group(5)):
                    events.append(("wal-synced",))
    return events


def test_a_delete_and_a_replace_are_on_disk_before_their_chunk_files_are_unlinked(
        nexus_factory, tmp_path):
    need_root("tracing nexusd")
    if shutil.which("strace") is None:
        skip_or_fail("strace is not installed (scripts/install-deps.sh installs it)")
    inst = nexus_factory(name="durable")
    user = registered_user(inst, "durable")
    root = chunks_root(inst)
    raw = upload(inst.api, user.token, UPLOAD, [("file", "gone.bin", os.urandom(3 * MiB))])
    assert raw.status_code == 200, raw.text
    deleted = set(store_files(root))
    assert put(inst, user, "/r.bin", os.urandom(3 * MiB)).status_code == 200
    replaced = set(store_files(root)) - deleted
    assert deleted and replaced

    tracer = Strace(inst.procs["nexusd"].pid, tmp_path / "trace.txt")
    try:
        r = inst.api.request("DELETE", f"/api/files/{raw.json()['id']}", token=user.token)
        assert r.status_code in (200, 204), r.text
        wait_until(lambda: not (deleted & set(store_files(root))), SETTLE_S,
                   "the deleted file's chunks were not removed")
        assert put(inst, user, "/r.bin", os.urandom(3 * MiB)).status_code == 200
        wait_until(lambda: not (replaced & set(store_files(root))), SETTLE_S,
                   "the replaced content's chunks were not removed")
    finally:
        lines = tracer.stop()

    # Before the first chunk of each goes, the commit that released it is on
    # disk: a WAL fsync after the last removal of the step before. With
    # synchronous=NORMAL the log is not synced at a commit, and a power cut
    # could bring a file back whose chunks are gone.
    events = durability_events(lines)
    trace = "\n".join(lines[-80:])
    synced = False
    for kind, paths in (("deleted", deleted), ("replaced", replaced)):
        removed = set()
        for e in events:
            if e[0] == "wal-synced":
                synced = True
            elif e[1] in paths:
                assert synced or removed, (
                    f"a chunk of the {kind} file was unlinked before the commit that released it"
                    f" was on disk: {e[1]}\n{trace}")
                removed.add(e[1])
        assert removed == paths, (kind, sorted(paths - removed), trace)
        # The next step's commit must sync again: only syncs after this
        # step's last removal count.
        last = max(i for i, e in enumerate(events) if e[0] == "unlink" and e[1] in paths)
        events = events[last + 1:]
        synced = False
