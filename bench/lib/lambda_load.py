"""Load and timing client of the lambda scenario (bench/lambda.sh).

  lambda_load.py rounds N PAUSE_S OUTDIR SUBJECT...    N rounds, each running every subject
                                                      once, PAUSE_S apart; writes the ms of
                                                      each run to OUTDIR/t_<name>
  lambda_load.py http-throughput URL TOKEN CLIENTS SECONDS
                                                      prints "<runs/s> <runs> <429s>"
  lambda_load.py runc-bundle DIR                      writes a minimal OCI bundle to DIR

A SUBJECT is a JSON object with a "name" and one of
  "http": [URL, TOKEN]            POST /api/lambda/run of the snippet
  "cmd": [ARGV...]                runs ARGV ("{n}" in it: a number unique per run)
  "runc_keep": [RUNC, ROOT, BUNDLE]
                                  `runc run --keep` of BUNDLE; the `runc delete`
                                  after it is not timed

Interleaving the subjects round by round, rather than one series after the
other, lets a machine whose load changes over the minutes (2 shared cores)
weigh on every subject alike; the first subject of a round alternates.

Every run must print exactly "hello from nexus\\n" (the contract's snippet);
anything else aborts the measurement: a fast wrong answer is not a result.
HTTP runs answered 429 (all sandbox slots busy) are retried after a short
pause and counted; the latency of a run is that of its successful attempt.
Two warm-up runs precede every latency series. Only 127.0.0.1 is contacted.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

HELLO_CODE = "print('hello from nexus')"
HELLO_OUT = "hello from nexus\n"


class Client:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        assert u.hostname == "127.0.0.1", url
        self.host, self.port, self.token = u.hostname, u.port, token
        self.conn = None
        self.rejected = 0

    def run_once(self):
        """One POST /api/lambda/run; returns (status, body dict or text)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        body = json.dumps({"Code": HELLO_CODE, "Runtime": "python3"})
        try:
            self.conn.request("POST", "/api/lambda/run", body=body, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return resp.status, data

    def run(self):
        """Runs the snippet until it is not refused with 429; returns seconds of the last attempt."""
        while True:
            start = time.perf_counter()
            status, data = self.run_once()
            elapsed = time.perf_counter() - start
            if status == 429:
                self.rejected += 1
                time.sleep(0.02)
                continue
            if status != 200:
                sys.exit(f"lambda run: HTTP {status} {data[:300]!r}")
            out = json.loads(data)
            if out.get("stdout") != HELLO_OUT or out.get("exit_code") != 0:
                sys.exit(f"lambda run: unexpected answer {out!r}")
            return elapsed


def http_throughput(url, token, clients, seconds):
    done, rejected, errors = [0] * clients, [0] * clients, []
    stop_at = time.monotonic() + seconds

    def work(i):
        c = Client(url, token)
        try:
            while time.monotonic() < stop_at:
                c.run()
                done[i] += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        rejected[i] = c.rejected

    start = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if errors:
        sys.exit(f"lambda throughput: {errors[:3]}")
    print(f"{sum(done) / elapsed:.2f} {sum(done)} {sum(rejected)}")


def cmd_subject(argv):
    counter = [0]

    def once():
        counter[0] += 1
        args = [a.replace("{n}", f"{os.getpid()}-{counter[0]}") for a in argv]
        start = time.perf_counter()
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True)
        elapsed = time.perf_counter() - start
        if p.returncode != 0 or p.stdout.decode() != HELLO_OUT:
            sys.exit(f"{argv[0]}: exit {p.returncode}, out {p.stdout[:200]!r}, "
                     f"err {p.stderr[:500]!r}")
        return elapsed

    return once


def runc_keep_subject(runc, root, bundle):
    """`runc run`, but the container is kept when its process exits and
    deleted after the clock stops: the time to an answer without runc's
    teardown, which nexusd also does after answering."""
    counter = [0]

    def once():
        counter[0] += 1
        cid = f"nxbench-keep-{os.getpid()}-{counter[0]}"
        start = time.perf_counter()
        p = subprocess.run([runc, "--root", root, "run", "--keep", "-b", bundle, cid],
                           stdin=subprocess.DEVNULL, capture_output=True)
        elapsed = time.perf_counter() - start
        d = subprocess.run([runc, "--root", root, "delete", "-f", cid], capture_output=True)
        if p.returncode != 0 or p.stdout.decode() != HELLO_OUT or d.returncode != 0:
            sys.exit(f"runc run --keep: exit {p.returncode}, out {p.stdout[:200]!r}, "
                     f"err {p.stderr[:500]!r}, delete {d.stderr[:300]!r}")
        return elapsed

    return once


def rounds(n, pause, outdir, specs):
    subjects = []
    for spec in specs:
        if "http" in spec:
            client = Client(*spec["http"])
            once = client.run
        elif "cmd" in spec:
            client, once = None, cmd_subject(spec["cmd"])
        elif "runc_keep" in spec:
            client, once = None, runc_keep_subject(*spec["runc_keep"])
        else:
            sys.exit(f"unknown subject {spec!r}")
        subjects.append((spec["name"], once, client))
    files = {name: open(os.path.join(outdir, f"t_{name}"), "w") for name, _, _ in subjects}
    for r in range(2 + n):  # two warm-up rounds
        order = subjects if r % 2 == 0 else subjects[::-1]
        for name, once, _ in order:
            elapsed = once()
            if r >= 2:
                print(f"{elapsed * 1000:.3f}", file=files[name], flush=True)
            time.sleep(pause)
    for f in files.values():
        f.close()
    for name, _, client in subjects:
        if client is not None and client.rejected:
            print(f"lambda_load: {name}: {client.rejected} attempts answered 429 and were retried",
                  file=sys.stderr)


def runc_bundle(directory):
    """A bundle like a lambda sandbox's: read-only root with the host's /usr
    bound read-only (and the merged-/usr symlinks), a generated /etc, tmpfs
    /tmp, uid 65534, no capabilities, no new privileges, own pid, ipc, uts,
    mount and network namespaces, 128 MiB and 64 pids. No seccomp profile."""
    rootfs = os.path.join(directory, "rootfs")
    etc = os.path.join(directory, "etc")
    for d in (rootfs, etc):
        os.makedirs(d, exist_ok=True)
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=16m"]},
    ]
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(rootfs, name))
        elif os.path.isdir(host):
            os.makedirs(os.path.join(rootfs, name), exist_ok=True)
            mounts.append({"destination": host, "type": "bind", "source": host,
                           "options": ["rbind", "ro", "nosuid", "nodev"]})
    with open(os.path.join(etc, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    with open(os.path.join(etc, "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    mounts.append({"destination": "/etc", "type": "bind", "source": etc,
                   "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})
    caps = []
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 65534, "gid": 65534},
            "args": ["/usr/bin/python3", "-c", HELLO_CODE],
            "env": ["PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"],
            "cwd": "/tmp",
            "capabilities": {k: caps for k in ("bounding", "effective", "inheritable",
                                               "permitted", "ambient")},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "sandbox",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "resources": {"memory": {"limit": 128 << 20}, "pids": {"limit": 64}},
        },
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "rounds":
        rounds(int(argv[2]), float(argv[3]), argv[4], [json.loads(a) for a in argv[5:]])
    elif mode == "http-throughput":
        http_throughput(argv[2], argv[3], int(argv[4]), float(argv[5]))
    elif mode == "runc-bundle":
        runc_bundle(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
