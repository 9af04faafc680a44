"""Test harness for the Nexus end-to-end suite.

Starts the three real services (nexus-auth, nexusd, nexus-api) in a fresh
data directory, runs a real SMTP server for their mail, and offers an HTTP
client that only ever talks to 127.0.0.1 (http_client.py) and helpers for
uploads and the chunk store (uploads.py); the tests import all of it from
here. conftest.py turns these into pytest fixtures; the tests use the public
HTTP API the way a user does.
"""

import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from aiosmtpd.controller import Controller

import backends

# Re-exported: the tests import the whole harness from here.
from http_client import Api, assert_json_error, raw_request  # noqa: F401
from uploads import (MultipartBody, chunk_count, chunk_paths, download_sha256,  # noqa: F401
                     random_file, upload)

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# (name, path under the build dir), in start order: nexus-api needs the other two.
SERVICES = (
    ("nexus-auth", "src/auth/nexus-auth"),
    ("nexusd", "src/daemon/nexusd"),
    ("nexus-api", "src/gateway/nexus-api"),
)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
MAIL_TIMEOUT_S = 10.0

# Rate limits high enough that the shared instance never trips them; tests of
# the limits start their own instance with low ones.
RELAXED_LIMITS = {
    "NEXUS_AUTH_IP_RATE_BURST": "100000",
    "NEXUS_AUTH_IP_RATE_REFILL_SECONDS": "1",
    "NEXUS_AUTH_VERIFY_IP_RATE_BURST": "100000",
    "NEXUS_AUTH_VERIFY_IP_RATE_REFILL_SECONDS": "1",
    "NEXUS_AUTH_ACCOUNT_RATE_BURST": "100000",
    "NEXUS_AUTH_ACCOUNT_RATE_REFILL_SECONDS": "1",
    "NEXUS_AUTH_LOGIN_FAILURE_BURST": "100000",
}

# The auth limits at their built-in defaults, for tests of those limits (a
# private instance given these undoes RELAXED_LIMITS).
DEFAULT_AUTH_LIMITS = {
    "NEXUS_AUTH_IP_RATE_BURST": "20",
    "NEXUS_AUTH_IP_RATE_REFILL_SECONDS": "30",
    "NEXUS_AUTH_VERIFY_IP_RATE_BURST": "20",
    "NEXUS_AUTH_VERIFY_IP_RATE_REFILL_SECONDS": "30",
    "NEXUS_AUTH_ACCOUNT_RATE_BURST": "5",
    "NEXUS_AUTH_ACCOUNT_RATE_REFILL_SECONDS": "120",
    "NEXUS_AUTH_LOGIN_FAILURE_BURST": "5",
}


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
    """Sends `sig` to `proc` if it runs, waits up to `timeout`, then
    SIGKILLs. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def skip_or_fail(reason):
    """Skips the current test, except under CI=true where a skip hides a gap: fail."""
    if CI:
        pytest.fail(f"{reason} (CI=true turns this skip into a failure)", pytrace=False)
    pytest.skip(reason)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix):
    """A name no other test (or run) uses: prefix plus 8 random lowercase alnum."""
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(8))


def instance_name():
    """A fresh NEXUS_INSTANCE: lowercase alnum, at most 12 characters."""
    return unique("t")[:9]


# ---------------------------------------------------------------- SMTP sink


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    received_at: float = field(default_factory=time.monotonic)

    @property
    def text(self):
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message."""

    CODE_RE = re.compile(r"\b(\d{6})\b")

    def __init__(self):
        self._cond = threading.Condition()
        self._mails = []
        self.port = None
        self._controller = None

    # aiosmtpd handler hook: called once per accepted message.
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._cond:
            self._mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg))
            self._cond.notify_all()
        return "250 OK"

    def start(self):
        # aiosmtpd's Controller connects to its own port to confirm start-up,
        # so it needs a concrete port rather than 0; retry if another process
        # takes the one we picked in between.
        last_error = None
        for _ in range(5):
            port = free_port()
            controller = Controller(self, hostname="127.0.0.1", port=port, ready_timeout=5)
            try:
                controller.start()
            except Exception as e:  # noqa: BLE001 - aiosmtpd raises several types
                last_error = e
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"SMTP sink could not start: {last_error}")

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def mark(self):
        """A position in the mailbox; wait_for_mail(..., since=mark) ignores older mail."""
        with self._cond:
            return len(self._mails)

    def mails_to(self, address):
        with self._cond:
            return [m for m in self._mails if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for_mail(self, address, since=0, timeout=MAIL_TIMEOUT_S):
        """The newest message to `address` received after `since`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in reversed(self._mails[since:]):
                    if address.lower() in (r.lower() for r in m.rcpt_tos):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no mail to {address} within {timeout:.0f} s", pytrace=False)
                self._cond.wait(min(left, 0.2))

    def wait_for_code(self, address, since=0, timeout=MAIL_TIMEOUT_S):
        """The 6-digit code in the newest message to `address` received after `since`."""
        mail = self.wait_for_mail(address, since, timeout)
        found = self.CODE_RE.findall(mail.text)
        assert len(found) == 1, f"expected one 6-digit code in the mail, got {found!r}"
        return found[0]


# ---------------------------------------------------------------- services


class Instance:
    """The three Nexus services on one data dir, started and stopped as a unit."""

    def __init__(self, build_dir, sink, env=None, name="nexus", embedded=False):
        self.build_dir = build_dir
        self.sink = sink
        self.label = name
        self.data_dir = tempfile.mkdtemp(prefix=f"nexus-e2e-{name}-")
        self.log_dir = os.path.join(self.data_dir, "logs")
        os.makedirs(self.log_dir)
        self.port = free_port()
        self.s3_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
        self.env.update({
            "NEXUS_DATA_DIR": self.data_dir,
            "NEXUS_INSTANCE": instance_name(),
            "NEXUS_GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "NEXUS_S3_LISTEN": f"127.0.0.1:{self.s3_port}",
            "NEXUS_LOG_LEVEL": "debug",
            # Never the default 10.0.42.0/24 of a running instance on this host,
            # should a test start a node (test_nodes.py picks its own).
            "NEXUS_NETWORK_SUBNET": f"10.241.{secrets.randbelow(256)}.0/24",
        })
        if sink is not None:
            self.env["NEXUS_MAIL_SMTP_URL"] = sink.url
        self.env.update(RELAXED_LIMITS)
        backends.configure(self, embedded)
        self.env.update(env or {})
        self.procs = {}
        self.exit_codes = {}
        self.api = Api(f"http://127.0.0.1:{self.port}")

    def api_from(self, source_address):
        """An Api to this instance whose requests come from `source_address`."""
        return Api(self.api.base_url, source_address=source_address)

    @staticmethod
    def missing_binaries(build_dir):
        if not build_dir:
            return ["NEXUS_BUILD_DIR is not set"]
        return [os.path.join(build_dir, rel) for _, rel in SERVICES
                if not os.access(os.path.join(build_dir, rel), os.X_OK)]

    def log_path(self, name):
        return os.path.join(self.log_dir, f"{name}.log")

    def start_service(self, name):
        rel = dict(SERVICES)[name]
        log = open(self.log_path(name), "ab")
        try:
            self.procs[name] = subprocess.Popen(
                [os.path.join(self.build_dir, rel)], env=self.env, cwd=self.data_dir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        self.exit_codes.pop(name, None)

    def start(self):
        for name, _ in SERVICES:
            self.start_service(name)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {p.returncode} during start-up\n{self.logs_text()}")
            try:
                r = self.api.get("/healthz", timeout=1)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as e:
                last = str(e)
            time.sleep(0.05)
        raise RuntimeError(f"GET /healthz not 200 within {timeout:.0f} s (last: {last})\n"
                           f"{self.logs_text()}")

    def stop_service(self, name, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends `sig`, waits up to `timeout`, then SIGKILLs. Returns the exit code."""
        p = self.procs.get(name)
        if p is None:
            return self.exit_codes.get(name)
        self.exit_codes[name] = stop_process(p, sig, timeout)
        del self.procs[name]
        return p.returncode

    def stop(self):
        for name, _ in reversed(SERVICES):
            self.stop_service(name)

    def logs(self):
        out = {}
        for name, _ in SERVICES:
            try:
                with open(self.log_path(name), "r", errors="replace") as f:
                    out[name] = f.read()
            except FileNotFoundError:
                out[name] = ""
        return out

    def logs_text(self, tail=200):
        parts = []
        for name, text in self.logs().items():
            lines = text.splitlines()[-tail:]
            parts.append(f"----- {self.label} {name} (last {len(lines)} lines) -----")
            parts.extend(lines)
        return "\n".join(parts)

    def cleanup(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_second_gateway(inst, env=None, label="nexus-api-2"):
    """Another nexus-api on the instance's backends and data dir (the gateway
    is stateless: several run side by side), its log beside the others;
    `env` adds to the instance's. Returns (process, port) once it is healthy;
    the caller stops the process."""
    port = free_port()
    env = dict(inst.env, NEXUS_GATEWAY_LISTEN=f"127.0.0.1:{port}", **(env or {}))
    log = open(os.path.join(inst.log_dir, f"{label}.log"), "ab")
    try:
        proc = subprocess.Popen([os.path.join(inst.build_dir, "src/gateway/nexus-api")], env=env,
                                cwd=inst.data_dir, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()
    api = Api(f"http://127.0.0.1:{port}")

    def healthy():
        if proc.poll() is not None:
            pytest.fail(f"{label} exited with {proc.returncode} during start-up", pytrace=False)
        try:
            return api.get("/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    try:
        wait_until(healthy, 10, f"{label} did not become healthy")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, port


# ---------------------------------------------------------------- user flows


@dataclass
class User:
    username: str
    password: str
    email: str
    token: str = ""


def new_user(prefix="u"):
    name = unique(prefix)
    return User(name, "pw-" + secrets.token_hex(8), f"{name}@example.com")


def register(inst, user):
    """register init → code from the sink → verify; stores and returns the token."""
    mark = inst.sink.mark()
    r = inst.api.post("/auth/register/init",
                      json={"Username": user.username, "Password": user.password,
                            "Email": user.email})
    assert r.status_code == 200, r.text
    code = inst.sink.wait_for_code(user.email, since=mark)
    r = inst.api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    user.token = r.json()["token"]
    return user.token


def registered_user(inst, prefix="u"):
    """A new user, registered and holding a token."""
    user = new_user(prefix)
    register(inst, user)
    return user


def login(inst, user):
    """login init → code from the sink → verify; stores and returns the token."""
    mark = inst.sink.mark()
    r = inst.api.post("/auth/login/init",
                      json={"Username": user.username, "Password": user.password})
    assert r.status_code == 200, r.text
    code = inst.sink.wait_for_code(user.email, since=mark)
    r = inst.api.post("/auth/login/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    user.token = r.json()["token"]
    return user.token


def other_code(code):
    """A well-formed 6-digit code that is not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns a truthy value (returned) or fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s", pytrace=False)
        time.sleep(interval)


# How long a released chunk may take to disappear from disk (removal runs
# after the commit, possibly on another thread).
SETTLE_S = 10


def settled_chunk_count(inst, expected, what):
    """Waits (bounded) until the chunk store holds `expected` files."""
    wait_until(lambda: chunk_count(inst) == expected, SETTLE_S,
               f"{what}: chunk files {chunk_count(inst)} != {expected}")
