"""`make install` / `cmake --install`: the layout it puts under a DESTDIR
(services, units, sysusers entry, /etc/nexus/nexus.toml), the units naming
the installed binaries and the config, and `systemd-analyze verify` passing
on the installed units."""

import os
import shutil
import subprocess

import pytest

from harness import free_port, instance_name, skip_or_fail, wait_until
from http_client import Api

PREFIX = "/usr/local"
SERVICES = ("nexusd", "nexus-auth", "nexus-api")
UNIT_DIR = f"{PREFIX}/lib/systemd/system"


def _build_dir():
    d = os.environ.get("NEXUS_BUILD_DIR", "")
    if not d or not os.path.isfile(os.path.join(d, "cmake_install.cmake")):
        skip_or_fail("NEXUS_BUILD_DIR is not a configured build dir")
    return os.path.abspath(d)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A DESTDIR holding one installation, made as `make install DESTDIR=...` does."""
    build = _build_dir()
    dest = tmp_path_factory.mktemp("destdir")
    env = dict(os.environ, DESTDIR=str(dest))
    r = subprocess.run(["cmake", "--install", build, "--prefix", PREFIX], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def read(root, path):
    with open(os.path.join(str(root), path.lstrip("/"))) as f:
        return f.read()


def test_the_services_are_installed_executable(root):
    for name in SERVICES + ("nexus-lambda-init",):
        path = os.path.join(str(root), f"{PREFIX}/sbin/{name}".lstrip("/"))
        assert os.access(path, os.X_OK), path


def test_the_cli_and_its_completion_are_installed(root):
    assert os.access(os.path.join(str(root), f"{PREFIX}/bin/nexus".lstrip("/")), os.X_OK)
    completion = read(root, f"{PREFIX}/share/bash-completion/completions/nexus")
    assert "complete" in completion and "nexus" in completion


def test_the_installed_gateway_serves_the_installed_web_ui(root, tmp_path):
    index = read(root, f"{PREFIX}/share/nexus/web/index.html")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(NEXUS_DATA_DIR=str(tmp_path), NEXUS_INSTANCE=instance_name(),
               NEXUS_GATEWAY_LISTEN=f"127.0.0.1:{port}")
    with open(tmp_path / "nexus-api.log", "wb") as log:
        api = subprocess.Popen([os.path.join(str(root), f"{PREFIX}/sbin/nexus-api".lstrip("/"))],
                               env=env, cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        client = Api(f"http://127.0.0.1:{port}")

        def answers():
            try:
                return client.get("/", timeout=2)
            except OSError:
                return None
        r = wait_until(answers, 20, "the installed nexus-api answering", interval=0.1)
        assert r.status_code == 200 and r.text == index
    finally:
        api.terminate()
        api.wait(timeout=30)


def test_the_config_and_the_account_are_installed(root):
    config = read(root, "/etc/nexus/nexus.toml")
    assert 'data_dir = "/var/lib/nexus"' in config
    assert "# log_format = " in config
    assert read(root, f"{PREFIX}/lib/sysusers.d/nexus.conf").startswith("#")


def test_the_units_name_the_installed_binaries_and_config(root):
    for name in SERVICES:
        unit = read(root, f"{UNIT_DIR}/{name}.service")
        assert f"ExecStart={PREFIX}/sbin/{name} --config /etc/nexus/nexus.toml" in unit, unit
        assert "@" not in unit.split("[Unit]", 1)[1], "an unsubstituted @VAR@ is left"
    api = read(root, f"{UNIT_DIR}/nexus-api.service")
    assert "Requires=nexusd.service nexus-auth.service" in api
    assert "After=nexusd.service nexus-auth.service" in api
    for name in ("nexus-auth", "nexus-api"):
        unit = read(root, f"{UNIT_DIR}/{name}.service")
        for option in ("User=nexus", "NoNewPrivileges=yes", "ProtectSystem=strict",
                       "PrivateTmp=yes"):
            assert option in unit, (name, option)
    daemon = read(root, f"{UNIT_DIR}/nexusd.service")
    assert "StateDirectory=nexus\n" in daemon and "RuntimeDirectory=nexus\n" in daemon


def test_an_existing_config_is_kept_on_reinstall(root):
    path = os.path.join(str(root), "etc/nexus/nexus.toml")
    with open(path, "a") as f:
        f.write("\n# the operator's own line\n")
    env = dict(os.environ, DESTDIR=str(root))
    r = subprocess.run(["cmake", "--install", _build_dir(), "--prefix", PREFIX], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# the operator's own line" in read(root, "/etc/nexus/nexus.toml")


def test_systemd_analyze_verifies_the_installed_units(root):
    if shutil.which("systemd-analyze") is None:
        skip_or_fail("systemd-analyze is not installed")
    # Under --root, systemd 252 looks for everything inside the root, the
    # targets every service depends on (sysinit.target, ...) included:
    # give it the host's, beside the installation.
    system_units = "/usr/lib/systemd/system"
    if not os.path.isdir(system_units):
        skip_or_fail(f"{system_units} is missing: no systemd units to verify against")
    shutil.copytree(system_units, os.path.join(str(root), system_units.lstrip("/")),
                    symlinks=True, dirs_exist_ok=True)
    units = [os.path.join(str(root), f"{UNIT_DIR}/{n}.service".lstrip("/")) for n in SERVICES]
    # So are the host's commands a unit runs (ExecReload=/bin/kill).
    for unit in units:
        with open(unit) as f:
            for line in f:
                if line.startswith("Exec") and "=" in line:
                    command = line.split("=", 1)[1].split()[0].lstrip("-@:+!")
                    inside = os.path.join(str(root), command.lstrip("/"))
                    if not command.startswith(PREFIX) and not os.path.exists(inside):
                        os.makedirs(os.path.dirname(inside), exist_ok=True)
                        shutil.copy2(command, inside)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr
