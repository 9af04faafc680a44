"""What the CLI suites share: the built `nexus` binary, run the way a user
runs it (its own HOME, so its config file is private to the test; the server
and token from NEXUS_SERVER / NEXUS_TOKEN), on a pseudo-terminal when a test
needs one, and small helpers over its output.
Traffic goes only to the instance on 127.0.0.1.
"""

import errno
import hashlib
import os
import pty
import select
import signal
import subprocess
import time

from harness import skip_or_fail

CLI_REL = "src/cli/nexus"
COMPLETION_REL = "src/cli/completion/nexus.bash"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cli_binary():
    d = os.environ.get("NEXUS_BUILD_DIR", "")
    path = os.path.join(os.path.abspath(d), CLI_REL) if d else ""
    if not path or not os.access(path, os.X_OK):
        skip_or_fail(f"the nexus CLI is not built ({path or 'NEXUS_BUILD_DIR is not set'})")
    return path


class Cli:
    """Runs `nexus` against one instance as one user."""

    def __init__(self, inst, home, token=None):
        self.binary = cli_binary()
        self.inst = inst
        self.home = home
        self.token = token

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NEXUS_") and k not in ("NO_COLOR", "XDG_CONFIG_HOME")}
        env["HOME"] = self.home
        env["NEXUS_SERVER"] = self.inst.api.base_url
        if self.token:
            env["NEXUS_TOKEN"] = self.token
        env.update(extra)
        return env

    def run(self, *args, input=None, timeout=120, check=None, **env):
        """Runs `nexus args...`; returns the CompletedProcess (bytes stdout, text stderr).
        check=0 (or another code) asserts the exit code."""
        p = subprocess.run([self.binary, *args], input=input, capture_output=True,
                           env=self.env(**env), timeout=timeout, cwd=self.home)
        p.stderr = p.stderr.decode(errors="replace")
        if check is not None:
            assert p.returncode == check, (
                f"nexus {' '.join(args)}: exit {p.returncode}, expected {check}\n"
                f"stdout: {p.stdout[:2000]!r}\nstderr: {p.stderr[:2000]}")
        return p

    def ok(self, *args, **kwargs):
        return self.run(*args, check=0, **kwargs)

    def popen(self, *args, **kwargs):
        return subprocess.Popen([self.binary, *args], env=self.env(), cwd=self.home, **kwargs)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_hashes(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            out[os.path.relpath(path, root)] = sha256_of(path)
    return out


def write_tree(root, layout):
    """layout: {relative path: bytes}; folders are made as needed."""
    for rel, data in layout.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


class PtyProcess:
    """A child process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, argv, env, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.transcript = b""

    def read_until(self, needle, timeout=30, count=1):
        """Reads the terminal until `needle` (bytes) has shown up `count` times;
        returns the transcript."""
        deadline = time.monotonic() + timeout
        while self.transcript.count(needle) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} x{count} not seen within {timeout} s: "
                                     f"{self.transcript[-2000:]!r}")
            if not self._read_some(left):
                raise AssertionError(f"terminal closed before {needle!r} x{count}: "
                                     f"{self.transcript[-2000:]!r}")
        return self.transcript

    def _read_some(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], min(timeout, 0.5))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError as e:  # EIO: the child closed its end
            if e.errno != errno.EIO:
                raise
            return False
        self.transcript += data
        return bool(data)

    def write(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=60):
        """Drains the terminal until the child exits; returns its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                while self._read_some(0.05):
                    pass
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self._read_some(0.1)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"still running after {timeout} s: {self.transcript[-2000:]!r}")


def spawn(cli, *args, **env):
    return PtyProcess([cli.binary, *args], cli.env(**env), cli.home)
