"""Running code through POST /api/lambda/run for the test_lambda*.py files,
on an instance whose services carry a random marker in their environment
that no sandbox output may ever contain; and, for the end of each file,
the checks that nothing of the sandboxes is left behind.

Needs root and runc (nexusd runs sandboxes with runc): conftest.py's
lambda_instance skips without them, fails without them under CI=true.
"""

import json
import os
import secrets
import shutil
import subprocess
import textwrap
import time

from harness import wait_until

MiB = 1 << 20
MARKER_VAR = "E2E_SANDBOX_MARKER"
MARKER = "marker-" + secrets.token_hex(16)
RUN = "/api/lambda/run"
# Every response body of this module, for the final marker check.
responses = []


def runc_path():
    return shutil.which("runc") or ("/usr/sbin/runc" if os.access("/usr/sbin/runc", os.X_OK)
                                    else None)


def run(inst, code, runtime="python3", stdin=None, timeout_ms=None, retry_for_s=120):
    """POSTs a run; retries 429 (all slots busy) with backoff. Returns
    (response, seconds the last attempt took)."""
    body = {"Code": code, "Runtime": runtime}
    if stdin is not None:
        body["Stdin"] = stdin
    if timeout_ms is not None:
        body["TimeoutMs"] = timeout_ms
    deadline = time.monotonic() + retry_for_s
    backoff = 0.05
    while True:
        start = time.monotonic()
        r = inst.api.post(RUN, token=inst.user.token, json=body, timeout=120)
        elapsed = time.monotonic() - start
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(backoff)
        backoff = min(backoff * 2, 1.0)
    responses.append(r.text)
    assert MARKER not in r.text, "a sandbox saw the services' environment"
    return r, elapsed


def run_ok(inst, code, **kw):
    r, elapsed = run(inst, code, **kw)
    assert r.status_code == 200, f"{r.status_code} {r.text[:500]}"
    out = r.json()
    assert isinstance(out.get("stdout"), str) and isinstance(out.get("stderr"), str), out
    assert isinstance(out.get("exit_code"), int), out
    return out


def run_json(inst, code, **kw):
    """Runs a snippet whose last stdout line is JSON; returns it parsed."""
    out = run_ok(inst, textwrap.dedent(code), **kw)
    assert out["exit_code"] == 0, out
    return json.loads(out["stdout"].strip().splitlines()[-1])


def host_processes_with(text):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _lambda_dir(inst):
    """Where nexusd keeps the instance's sandboxes: /run/nexus-<instance>/lambda."""
    return os.path.join("/run", f"nexus-{inst.env['NEXUS_INSTANCE']}", "lambda")


def _runc_containers(inst):
    root = os.path.join(_lambda_dir(inst), "runc")
    if not os.path.isdir(root):
        return []
    p = subprocess.run([runc_path(), "--root", root, "list", "--format", "json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout or "null") or []


def _bundles(inst):
    d = _lambda_dir(inst)
    return sorted(n for n in os.listdir(d) if n.startswith(inst.env["NEXUS_INSTANCE"] + "-l-")) \
        if os.path.isdir(d) else []


def _sandbox_processes(inst):
    """Processes of the sandbox uid in this instance's lambda cgroups."""
    parent = f"nexus-{inst.env['NEXUS_INSTANCE']}-lambda"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                uid_line = next(l for l in f if l.startswith("Uid:"))
            with open(f"/proc/{pid}/cgroup") as f:
                cgroup = f.read()
        except (OSError, StopIteration):
            continue
        if uid_line.split()[1] == "65534" and parent in cgroup:
            found.append(int(pid))
    return found


def _cgroups_named(name):
    """Cgroup directories (any hierarchy, down to 4 levels) whose name has `name`."""
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") >= 8:
            dirs[:] = []
            continue
        for d in list(dirs):
            if name in d:
                found.append(os.path.join(top, d))
                dirs.remove(d)
    return found


def _mounts_named(name):
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if name in line]


def assert_only_the_warm_pool_is_alive(lam):
    """After a suite's runs: at most the warm pool's sandboxes, all running."""
    assert lam.api.get("/healthz").status_code == 200
    pool = 2  # lambda.pool_size default
    # Teardown runs after each answer and the pool refills after it (a new
    # sandbox is "created" before "running"): give both a moment.
    deadline = time.monotonic() + 15
    while True:
        containers, bundles = _runc_containers(lam), _bundles(lam)
        ids = {c["id"] for c in containers}
        if (len(containers) <= pool and set(bundles) == ids and
                all(c.get("status") == "running" for c in containers)):
            break
        assert time.monotonic() < deadline, (
            [(c["id"], c.get("status"), c.get("pid")) for c in containers], bundles)
        time.sleep(0.1)


def assert_stopping_leaves_nothing(lam):
    """Stops `lam` (a lambda instance) and checks that nothing of its
    sandboxes is left, and that no answer or log showed the marker."""
    for name in ("nexus-api", "nexusd"):
        assert lam.stop_service(name) == 0, lam.logs_text()
    instance = lam.env["NEXUS_INSTANCE"]
    assert _runc_containers(lam) == []
    assert _bundles(lam) == []
    # Its runtime directory (bundles, the shared /etc, the init's copy, runc's
    # state) goes with it, and nothing of the sandboxes was ever in the data dir.
    assert not os.path.exists(os.path.dirname(_lambda_dir(lam))), os.listdir(_lambda_dir(lam))
    for name in ("lambda", "lambda-etc", "runc"):
        assert not os.path.exists(os.path.join(lam.data_dir, name)), name
    wait_until(lambda: not _sandbox_processes(lam), 5,
               f"sandbox processes left: {_sandbox_processes(lam)}")
    # Everything host-global carries the instance name: the cgroup parent
    # "nexus-<instance>-lambda" and its sandboxes' children, runc's commands
    # (container ids "<instance>-l-..."), any mount a sandbox made.
    assert _cgroups_named(instance) == []
    assert _mounts_named(instance) == []
    assert host_processes_with(instance) == []
    text = "\n".join(responses)
    assert MARKER not in text
    for service, log in lam.logs().items():
        assert MARKER not in log, f"{service} logged its environment"
