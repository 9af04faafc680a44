"""The `nexus` CLI on a terminal (a pseudo-terminal from Python's pty
module): the password prompt does not echo, transfers draw a progress bar
on stderr (and nothing when stderr is not a terminal), and Ctrl-C stops a
transfer cleanly: exit 130, no partial remote file, no local temp file.
"""

import json
import os
import signal

import pytest

from cli_support import Cli, spawn
from harness import new_user, registered_user

MiB = 1 << 20


@pytest.fixture
def cli(nexus, tmp_path):
    user = registered_user(nexus, "clitty")
    home = tmp_path / "home"
    home.mkdir()
    return Cli(nexus, str(home), token=user.token)


def test_password_is_not_echoed_on_a_terminal(nexus, tmp_path):
    user = new_user("clipty")
    c = Cli(nexus, str(tmp_path))
    mark = nexus.sink.mark()
    p = spawn(c, "login", "--register", "--username", user.username, "--email", user.email)
    p.read_until(b"Password: ")
    p.write(user.password.encode() + b"\n")
    p.read_until(b"Code from the email: ")
    code = nexus.sink.wait_for_code(user.email, since=mark)
    p.write(code.encode() + b"\n")
    assert p.wait() == 0, p.transcript
    assert b"Logged in" in p.transcript
    assert user.password.encode() not in p.transcript, "the password was echoed"
    assert code.encode() in p.transcript, "the code prompt should echo as usual"


def test_progress_bar_on_a_terminal_and_none_in_a_pipe(cli, tmp_path):
    src = tmp_path / "bar.bin"
    src.write_bytes(os.urandom(8 * MiB))
    p = spawn(cli, "put", str(src), "/bar.bin")
    assert p.wait() == 0, p.transcript
    text = p.transcript.decode(errors="replace")
    assert "bar.bin" in text and "[" in text and "100%" in text and "/s" in text, text
    assert "ETA" in text, text
    assert "\x1b[32m" in text, "colour on a terminal"

    p = spawn(cli, "get", "/bar.bin", str(tmp_path / "back.bin"), NO_COLOR="1")
    assert p.wait() == 0, p.transcript
    assert b"100%" in p.transcript and b"\x1b[32m" not in p.transcript

    piped = cli.ok("get", "/bar.bin", str(tmp_path / "again.bin"))
    assert piped.stderr == "", "no progress output when stderr is not a terminal"


def test_parallel_transfers_draw_a_line_each_and_a_total(cli, tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(6):
        (src / f"f{i}.bin").write_bytes(os.urandom(MiB))
    p = spawn(cli, "put", "-r", "-j", "3", str(src), "/many")
    assert p.wait() == 0, p.transcript
    assert b"total 6/6 files" in p.transcript, p.transcript[-3000:]


def _sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def test_ctrl_c_stops_an_upload_and_leaves_no_remote_file(cli, tmp_path):
    src = tmp_path / "huge.bin"
    _sparse(src, 2048 * MiB)
    p = spawn(cli, "put", str(src), "/huge.bin")
    p.read_until(b"huge.bin")  # the bar is up: the upload has started
    os.kill(p.pid, signal.SIGINT)
    assert p.wait() == 130, p.transcript[-2000:]
    assert json.loads(cli.ok("ls", "--json", "/").stdout) == []
    assert json.loads(cli.ok("usage", "--json").stdout)["used_bytes"] == 0


def test_ctrl_c_stops_a_download_and_leaves_no_temp_file(cli, tmp_path):
    src = tmp_path / "big.bin"
    _sparse(src, 1024 * MiB)
    cli.ok("put", str(src), "/big.bin", timeout=600)
    out = tmp_path / "out"
    out.mkdir()
    p = spawn(cli, "get", "/big.bin", str(out / "big.bin"))
    p.read_until(b"big.bin")
    os.kill(p.pid, signal.SIGINT)
    assert p.wait() == 130, p.transcript[-2000:]
    assert os.listdir(out) == [], "a partial or temp file was left"
