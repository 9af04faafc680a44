"""The `nexus` command-line client against the real services: help and
usage errors, login and logout through the real mail sink, the tree (put,
get, ls, mkdir, rm, mv, cat, du, usage) with files and folders checked by
SHA-256, --sync, --json output, raw files, clear errors with a non-zero exit
for bad input (missing local file, quota exceeded, not logged in), and the
bash completion file.
"""

import json
import os
import shlex
import stat
import subprocess
import sys
import time

import pytest

from cli_support import COMPLETION_REL, REPO, Cli, sha256_of, tree_hashes, write_tree
from harness import new_user, random_file, registered_user

MiB = 1 << 20
QUOTA = 2 * MiB


@pytest.fixture
def cli(nexus, tmp_path):
    user = registered_user(nexus, "cli")
    home = tmp_path / "home"
    home.mkdir()
    c = Cli(nexus, str(home), token=user.token)
    c.user = user
    return c


def ls_json(cli, path="/"):
    return json.loads(cli.ok("ls", "--json", path).stdout)


# ---------------------------------------------------------------- help and usage


def test_help_lists_every_command_and_exits_zero(cli):
    p = cli.ok("--help")
    out = p.stdout.decode()
    for cmd in ("login", "logout", "whoami", "ls", "mkdir", "put", "get", "rm", "mv", "cat",
                "du", "usage", "files", "node", "run"):
        assert cmd in out, f"{cmd} missing from --help"
    assert "--jobs" in cli.ok("put", "--help").stdout.decode()
    assert "--watch" in cli.ok("node", "metrics", "--help").stdout.decode()


def test_usage_errors_exit_2(cli):
    assert cli.run("frobnicate").returncode == 2
    assert cli.run("put", "only-one-arg").returncode == 2
    assert cli.run("put", "a", "b", "-j", "0").returncode == 2
    assert cli.run().returncode == 2


# ---------------------------------------------------------------- login, whoami, logout


def _login(nexus, home, user, register):
    """Runs `nexus login` with the password and the mailed code on stdin."""
    c = Cli(nexus, home)
    mark = nexus.sink.mark()
    args = ["login", "--username", user.username]
    if register:
        args += ["--register", "--email", user.email]
    p = c.popen(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(user.password.encode() + b"\n")
    p.stdin.flush()
    code = nexus.sink.wait_for_code(user.email, since=mark)
    out, err = p.communicate(code.encode() + b"\n", timeout=30)
    assert p.returncode == 0, err.decode()
    return c, err.decode()


def test_register_login_whoami_logout(nexus, tmp_path):
    home = str(tmp_path)
    user = new_user("clireg")
    c, err = _login(nexus, home, user, register=True)
    assert user.password not in err
    config = os.path.join(home, ".config", "nexus", "config.toml")
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(config)).st_mode) == 0o700
    with open(config) as f:
        text = f.read()
    assert "token" in text and nexus.api.base_url in text

    # whoami with the stored token (the server from the config file too).
    env_without_server = {"NEXUS_SERVER": ""}
    p = c.ok("whoami", "--json", **env_without_server)
    assert json.loads(p.stdout)["username"] == user.username
    assert user.username in c.ok("whoami").stdout.decode()

    # A second login replaces the token.
    _login(nexus, home, user, register=False)
    c.ok("whoami")

    c.ok("logout")
    p = c.run("whoami")
    assert p.returncode == 1
    assert "not logged in" in p.stderr


def test_wrong_password_prints_the_servers_error(nexus, tmp_path):
    user = registered_user(nexus, "cliwrong")
    c = Cli(nexus, str(tmp_path))
    p = c.run("login", "--username", user.username, input=b"not-the-password\n")
    assert p.returncode == 1
    assert p.stderr.startswith("nexus: ") and len(p.stderr.strip()) > len("nexus: ")


def test_revoked_token_is_refused_with_a_hint(cli):
    r = cli.inst.api.post("/auth/logout", token=cli.token)
    assert r.status_code in (200, 204), r.text
    p = cli.run("ls")
    assert p.returncode == 1
    assert "nexus login" in p.stderr


def test_commands_without_a_token_say_to_log_in(nexus, tmp_path):
    p = Cli(nexus, str(tmp_path)).run("ls")
    assert p.returncode == 1
    assert "not logged in" in p.stderr


# ---------------------------------------------------------------- files and folders


def test_put_get_round_trip_of_a_file_is_byte_identical(cli, tmp_path):
    src, digest = random_file(str(tmp_path), 5 * MiB + 123, "big.bin")
    cli.ok("put", src, "/docs/")
    entries = ls_json(cli, "/docs")
    assert [(e["name"], e["type"], e["size"]) for e in entries] == [
        ("big.bin", "file", 5 * MiB + 123)]
    out = tmp_path / "back.bin"
    cli.ok("get", "/docs/big.bin", str(out))
    assert sha256_of(out) == digest
    # No temp file is left beside the download.
    assert sorted(os.listdir(tmp_path)) == sorted(["big.bin", "back.bin", "home"])


def test_put_and_get_of_folders_with_parallel_transfers(cli, tmp_path):
    src = tmp_path / "project"
    layout = {f"f{i}.txt": os.urandom(1000 + i) for i in range(12)}
    layout.update({"sub/deep/a.bin": os.urandom(300_000), "sub/b.txt": b"hello\n",
                   "empty.txt": b""})
    write_tree(str(src), layout)
    os.makedirs(src / "nothing-inside")
    cli.ok("put", "-r", "-j", "4", str(src), "/up/")
    assert {e["name"] for e in ls_json(cli, "/up/project")} >= {"sub", "nothing-inside",
                                                                "f0.txt", "empty.txt"}
    dst = tmp_path / "down"
    cli.ok("get", "-r", "-j", "3", "/up/project", str(dst))
    assert tree_hashes(str(dst)) == tree_hashes(str(src))
    assert os.path.isdir(dst / "nothing-inside")


def test_more_jobs_than_the_servers_share_still_all_arrive(cli, tmp_path):
    # 32 at once against a share of 16 uploads (and downloads) per user: the
    # refused ones wait and retry.
    src = tmp_path / "wide"
    write_tree(str(src), {f"w{i:02d}.bin": os.urandom(200_000) for i in range(40)})
    cli.ok("put", "-r", "-j", "32", str(src), "/wide")
    assert len(ls_json(cli, "/wide")) == 40
    dst = tmp_path / "wide-back"
    cli.ok("get", "-r", "-j", "32", "/wide", str(dst))
    assert tree_hashes(str(dst)) == tree_hashes(str(src))


def test_put_of_a_folder_without_r_is_refused(cli, tmp_path):
    p = cli.run("put", str(tmp_path), "/x")
    assert p.returncode == 1
    assert "use -r" in p.stderr


def test_sync_skips_unchanged_files_and_uploads_changed_ones(cli, tmp_path):
    src = tmp_path / "s"
    write_tree(str(src), {"same.txt": b"same", "changes.txt": b"before", "sub/x": b"x" * 5000})
    cli.ok("put", "-r", str(src), "/sync/")
    before = {e["name"]: e.get("id") for e in ls_json(cli, "/sync/s")}
    write_tree(str(src), {"changes.txt": b"after!"})  # same size, other bytes
    cli.ok("put", "-r", "--sync", str(src), "/sync/")
    after = {e["name"]: e.get("id") for e in ls_json(cli, "/sync/s")}
    assert after["same.txt"] == before["same.txt"], "an unchanged file was uploaded again"
    assert after["changes.txt"] != before["changes.txt"], "a changed file was skipped"
    downloads = tmp_path / "dl"
    downloads.mkdir()
    cli.ok("get", "-r", "/sync/s", str(downloads))
    dst = downloads / "s"
    assert tree_hashes(str(dst)) == tree_hashes(str(src))
    # get --sync leaves a local file that matches alone (its mtime stays).
    mtime = os.stat(dst / "same.txt").st_mtime_ns
    time.sleep(0.01)
    write_tree(str(dst), {"changes.txt": b"local!"})
    cli.ok("get", "-r", "--sync", "/sync/s", str(downloads))
    assert os.stat(dst / "same.txt").st_mtime_ns == mtime
    assert (dst / "changes.txt").read_bytes() == b"after!"


def test_ls_mkdir_rm_mv_cat_du(cli, tmp_path):
    p = cli.run("mkdir", "/a/b")
    assert p.returncode == 1 and "-p" in p.stderr
    cli.ok("mkdir", "-p", "/a/b")
    cli.ok("mkdir", "/a/c")
    f = tmp_path / "note.txt"
    f.write_bytes(b"note contents\n")
    cli.ok("put", str(f), "/a/b/note.txt")
    assert cli.ok("cat", "/a/b/note.txt").stdout == b"note contents\n"
    assert cli.ok("ls", "/a").stdout.decode().split() == ["b/", "c/"]
    long = cli.ok("ls", "-l", "/a/b").stdout.decode()
    assert "note.txt" in long and "14 B" in long
    assert cli.ok("ls", "/a/b/note.txt").stdout == b"note.txt\n"
    assert cli.run("ls", "/a/nothing").returncode == 1
    du = json.loads(cli.ok("du", "--json", "/a").stdout)
    assert du == [{"path": "/a", "bytes": 14, "files": 1, "folders": 2}]
    cli.ok("mv", "/a/b/note.txt", "/a/c")
    assert [e["name"] for e in ls_json(cli, "/a/c")] == ["note.txt"]
    p = cli.run("rm", "/a")
    assert p.returncode == 1 and "-r" in p.stderr
    cli.ok("rm", "/a/c/note.txt")
    cli.ok("rm", "-r", "/a")
    assert ls_json(cli, "/") == []
    p = cli.run("rm", "/a")
    assert p.returncode == 1 and "no such" in p.stderr


def test_usage_json_counts_what_was_stored(cli, tmp_path):
    f = tmp_path / "u.bin"
    f.write_bytes(b"u" * 1000)
    cli.ok("put", str(f), "/u.bin")
    usage = json.loads(cli.ok("usage", "--json").stdout)
    assert usage["used_bytes"] == 1000 and usage["files"] == 1
    assert "used" in cli.ok("usage").stdout.decode()


def test_missing_local_file_names_it_and_exits_1(cli, tmp_path):
    p = cli.run("put", str(tmp_path / "no-such-file"), "/x")
    assert p.returncode == 1
    assert "no-such-file" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, "one message, said once"
    p = cli.run("get", "/no/such/remote", str(tmp_path / "x"))
    assert p.returncode == 1
    assert "no such remote" in p.stderr


@pytest.fixture(scope="module")
def quota_instance(module_nexus_factory):
    return module_nexus_factory(env={"NEXUS_STORAGE_QUOTA_BYTES": str(QUOTA)}, name="cliquota")


def test_quota_exceeded_prints_the_servers_message(quota_instance, attach_logs, tmp_path):
    attach_logs(quota_instance)
    user = registered_user(quota_instance, "cliq")
    c = Cli(quota_instance, str(tmp_path), token=user.token)
    src, _ = random_file(str(tmp_path), QUOTA + MiB, "too-big.bin")
    p = c.run("put", src, "/too-big.bin")
    assert p.returncode == 1
    assert "quota" in p.stderr
    assert json.loads(c.ok("ls", "--json", "/").stdout) == []


# ---------------------------------------------------------------- raw files


def test_raw_files_put_ls_info_get_rm(cli, tmp_path):
    src, digest = random_file(str(tmp_path), 2 * MiB, "raw.bin")
    stored = json.loads(cli.ok("files", "put", "--json", src).stdout)
    assert len(stored) == 1 and stored[0]["name"] == "raw.bin"
    file_id = stored[0]["id"]
    listed = json.loads(cli.ok("files", "ls", "--json").stdout)
    assert file_id in [f["id"] for f in listed]
    info = json.loads(cli.ok("files", "info", "--json", file_id).stdout)
    assert info["sha256"] == digest and info["size"] == 2 * MiB
    out = tmp_path / "raw-back.bin"
    cli.ok("files", "get", file_id, str(out))
    assert sha256_of(out) == digest
    assert cli.ok("files", "get", file_id, "-").stdout[:16] == open(src, "rb").read(16)
    cli.ok("files", "rm", file_id)
    p = cli.run("files", "info", file_id)
    assert p.returncode == 1 and p.stderr.startswith("nexus: ")


# ---------------------------------------------------------------- completion


def _complete(line):
    """The words bash completion offers for `line` (completing its last word)."""
    words = line.split(" ")
    quoted = " ".join(shlex.quote(w) for w in words)
    script = "\n".join([
        "source " + shlex.quote(os.path.join(REPO, COMPLETION_REL)),
        f"COMP_WORDS=({quoted})",
        f"COMP_CWORD={len(words) - 1}",
        "_nexus",
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
    ])
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.split("\n") if w]


def test_bash_completion_is_registered_and_completes_commands():
    script = f"source {os.path.join(REPO, COMPLETION_REL)}; complete -p nexus"
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 0 and "_nexus" in p.stdout, p.stderr
    assert _complete("nexus no") == ["node"]
    assert set(_complete("nexus node ")) == {"create", "ls", "info", "start", "stop", "rm",
                                             "exec", "metrics"}
    assert "--sync" in _complete("nexus put --s")
    assert set(_complete("nexus files ")) == {"ls", "put", "get", "rm", "info"}


# ---------------------------------------------------------------- memory


# Runs argv[1:] as a child and prints its peak RSS in KiB. The kernel counts
# in a process's peak the memory it had before exec, i.e. a copy of its
# parent: started from this small interpreter rather than from pytest (which
# may hold tens of MiB, boto3 for one), the figure is the binary's own.
_REPORT_PEAK_RSS = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _peak_rss_mib(cli, *args):
    """Runs `nexus args...` to the end; returns (exit code, its own peak RSS in MiB)."""
    r = subprocess.run([sys.executable, "-c", _REPORT_PEAK_RSS, cli.binary, *args],
                       env=cli.env(), cwd=cli.home, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, timeout=600)
    return r.returncode, int(r.stdout.split()[-1]) / 1024


def test_transfers_stream_in_bounded_memory(cli, tmp_path):
    size = 512 * MiB
    src = tmp_path / "large.bin"
    with open(src, "wb") as f:
        f.truncate(size)  # sparse: cheap to make and to read
    rc, up_mib = _peak_rss_mib(cli, "put", str(src), "/large.bin")
    assert rc == 0
    rc, down_mib = _peak_rss_mib(cli, "get", "/large.bin", str(tmp_path / "copy.bin"))
    assert rc == 0
    assert os.path.getsize(tmp_path / "copy.bin") == size
    # A few MiB of curl buffers over the binary itself; a body held whole would be 512.
    assert up_mib < 64 and down_mib < 64, (up_mib, down_mib)
