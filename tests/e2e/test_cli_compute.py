"""The `nexus` CLI's nodes and lambda commands against the real services:
`node create/ls/info/exec/stop/start/rm/metrics` with exec's exit code passed
through and an unknown node refused clearly, and `run` with the snippet's
stdout, stderr and exit code, code from stdin and --stdin.

Needs root, runc and (for nodes) the CNI plugins: skipped without them,
failed without them under CI=true (as the nodes and lambda suites).
"""

import json
import os
import signal

import pytest

from cli_support import Cli, spawn
from harness import new_user, register, skip_or_fail
from nodes_host import SLOW, delete_all_nodes, start_nodes_instance, tool


@pytest.fixture(scope="module")
def _nodes_instance(module_nexus_factory):
    inst = start_nodes_instance(module_nexus_factory, "clinodes", env={
        "NEXUS_NODES_METRICS_INTERVAL_SECONDS": "1",
        "NEXUS_NODES_STOP_TIMEOUT_MS": "3000",
    })
    try:
        yield inst
    finally:
        delete_all_nodes(inst, (inst.alice, inst.bob))


@pytest.fixture
def node_cli(_nodes_instance, attach_logs, tmp_path):
    attach_logs(_nodes_instance)
    return Cli(_nodes_instance, str(tmp_path), token=_nodes_instance.alice.token)


def test_node_lifecycle_through_the_cli(node_cli):
    c = node_cli
    created = json.loads(c.ok("node", "create", "clin1", "--memory", "128M", "--cpu-shares",
                              "256", "--disk", "64M", "--json", timeout=SLOW).stdout)
    assert created["id"] == "clin1" and created["status"] == "Running"
    listed = json.loads(c.ok("node", "ls", "--json").stdout)
    assert [n["id"] for n in listed] == ["clin1"]
    assert "clin1" in c.ok("node", "ls").stdout.decode()
    info = json.loads(c.ok("node", "info", "--json", "clin1").stdout)
    assert info["memory_mb"] == 128

    p = c.run("node", "exec", "clin1", "--", "sh", "-c", "echo out; echo err >&2; exit 7",
              timeout=SLOW)
    assert p.returncode == 7, p.stderr
    assert p.stdout == b"out\n" and "err" in p.stderr
    assert c.run("node", "exec", "clin1", "--", "true", timeout=SLOW).returncode == 0

    m = json.loads(c.ok("node", "metrics", "--json", "clin1").stdout)
    assert m["node_id"] == "clin1" and "memory_usage" in m
    assert "memory" in c.ok("node", "metrics", "clin1").stdout.decode()

    # --watch redraws one line on a terminal until Ctrl-C, which ends it normally.
    watch = spawn(c, "node", "metrics", "clin1", "--watch", "--interval", "200ms")
    watch.read_until(b"cpu", timeout=15, count=3)
    os.kill(watch.pid, signal.SIGINT)
    assert watch.wait() == 0, watch.transcript
    assert b"\r" in watch.transcript, "redrawn in place"

    c.ok("node", "stop", "clin1", timeout=SLOW)
    assert json.loads(c.ok("node", "info", "--json", "clin1").stdout)["status"] != "Running"
    c.ok("node", "start", "clin1", timeout=SLOW)
    c.ok("node", "rm", "clin1", timeout=SLOW)
    assert json.loads(c.ok("node", "ls", "--json").stdout) == []


def test_unknown_node_gives_a_clear_message_and_exit_1(node_cli):
    for args in (("node", "info", "no-such-node"), ("node", "exec", "no-such-node", "--", "true"),
                 ("node", "rm", "no-such-node"), ("node", "metrics", "no-such-node")):
        p = node_cli.run(*args, timeout=SLOW)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.startswith("nexus: ") and len(p.stderr.strip()) > 10, (args, p.stderr)
        assert "not found" in p.stderr.lower() or "no-such-node" in p.stderr, (args, p.stderr)


def test_bad_sizes_are_refused_before_any_request(node_cli):
    p = node_cli.run("node", "create", "x", "--memory", "lots")
    assert p.returncode == 1 and "lots" in p.stderr


@pytest.fixture(scope="module")
def _lambda_instance(module_nexus_factory):
    if os.geteuid() != 0:
        skip_or_fail("lambda needs root (nexusd starts runc containers)")
    if tool("runc") is None:
        skip_or_fail("lambda needs runc (apt-get install runc)")
    inst = module_nexus_factory(name="clilambda")
    inst.user = new_user("clilam")
    register(inst, inst.user)
    return inst


@pytest.fixture
def lambda_cli(_lambda_instance, attach_logs, tmp_path):
    attach_logs(_lambda_instance)
    return Cli(_lambda_instance, str(tmp_path), token=_lambda_instance.user.token)


def test_run_passes_streams_and_exit_code_through(lambda_cli, tmp_path):
    code = tmp_path / "snippet.py"
    code.write_text("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
                    "sys.exit(3)\n")
    p = lambda_cli.run("run", str(code))
    assert p.returncode == 3, p.stderr
    assert p.stdout == b"to stdout\n"
    assert "to stderr" in p.stderr


def test_run_reads_code_and_input_from_files_or_stdin(lambda_cli, tmp_path):
    data = tmp_path / "input.txt"
    data.write_text("forty-two\n")
    p = lambda_cli.run("run", "-", "--stdin", str(data), "--timeout", "20s",
                       input=b"import sys\nprint(sys.stdin.read().strip().upper())\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"FORTY-TWO\n"
    out = json.loads(lambda_cli.ok("run", "-", "--json", input=b"print(1 + 1)\n").stdout)
    assert out["stdout"] == "2\n" and out["exit_code"] == 0


def test_run_of_a_missing_file_is_an_error(lambda_cli, tmp_path):
    p = lambda_cli.run("run", str(tmp_path / "nope.py"))
    assert p.returncode == 1 and "nope.py" in p.stderr
