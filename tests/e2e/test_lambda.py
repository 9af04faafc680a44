"""Lambda (POST /api/lambda/run): the contract's run, output, exit codes,
stdin, concurrency, isolation between runs and request checks. At the end
the instance is stopped and nothing of the sandboxes may be left:
containers, bundles, processes. The escape suite is test_lambda_escape.py.

Needs root and runc: skipped without them, failed without them under
CI=true (see lambda_runs.py). One instance serves the whole module.
"""

import concurrent.futures
import secrets

import pytest

from harness import assert_json_error
from lambda_runs import (MiB, RUN, assert_only_the_warm_pool_is_alive,
                         assert_stopping_leaves_nothing, responses, run, run_json, run_ok)


# ---------------------------------------------------------------- the contract


def test_the_contracts_hello(lam):
    r, _ = run(lam, "print('hello from nexus')")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    out = r.json()
    assert out["stdout"] == "hello from nexus\n"
    assert out["stderr"] == ""
    assert out["exit_code"] == 0
    assert isinstance(out["execution_time_ms"], int) and 0 <= out["execution_time_ms"] < 10000
    assert out.get("timed_out", False) is False
    assert out.get("oom_killed", False) is False


def test_stderr_and_a_non_zero_exit(lam):
    out = run_ok(lam, "import sys\nprint('to out')\nsys.stderr.write('to err\\n')\nsys.exit(3)")
    assert (out["stdout"], out["stderr"], out["exit_code"]) == ("to out\n", "to err\n", 3)
    assert out.get("timed_out", False) is False


def test_an_exception_is_exit_1_with_the_traceback_on_stderr(lam):
    out = run_ok(lam, "raise ValueError('boom')")
    assert out["exit_code"] == 1
    assert "Traceback" in out["stderr"] and "ValueError: boom" in out["stderr"]


def test_stdin_reaches_the_program(lam):
    data = "line one\nline two\n\u00fcml\u00e4ut\n"
    out = run_ok(lam, "import sys\nsys.stdout.write(sys.stdin.read())", stdin=data)
    assert out["stdout"] == data


def test_unicode_output_survives(lam):
    text = "h\u00e9llo w\u00f6rld \u2713 \u6587\u4ef6 \U0001F680"
    out = run_ok(lam, f"import sys\nprint({text!r})\nprint({text!r}, file=sys.stderr)")
    assert out["stdout"] == text + "\n"
    assert out["stderr"] == text + "\n"


def test_output_that_is_not_utf8_still_gives_a_json_answer(lam):
    out = run_ok(lam, "import sys\nsys.stdout.buffer.write(b'ok\\xff\\xfe\\n')")
    assert out["stdout"].startswith("ok")
    assert out["exit_code"] == 0


def test_the_sh_runtime(lam):
    out = run_ok(lam, "echo hi from sh; echo oops >&2; exit 4", runtime="sh")
    assert (out["stdout"], out["stderr"], out["exit_code"]) == ("hi from sh\n", "oops\n", 4)


def test_twenty_concurrent_runs_are_all_correct(lam):
    def one(i):
        out = run_ok(lam, f"import sys\nprint({i} * 7)\nprint('e{i}', file=sys.stderr)")
        return i, out

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    for i, out in results:
        assert (out["stdout"], out["stderr"], out["exit_code"]) == (f"{i * 7}\n", f"e{i}\n", 0)


def test_a_run_never_sees_what_another_run_wrote(lam):
    name = "left-" + secrets.token_hex(6)
    written = run_json(lam, f"""
        import json, os
        for d in ("/tmp", "/dev/shm"):
            with open(os.path.join(d, {name!r}), "w") as f:
                f.write("secret")
        print(json.dumps(sorted(os.listdir("/tmp"))))
    """)
    assert name in written
    # Enough runs to get both pooled and freshly started sandboxes.
    for _ in range(4):
        seen = run_json(lam, f"""
            import json, os
            print(json.dumps([os.path.exists(os.path.join(d, {name!r}))
                              for d in ("/tmp", "/dev/shm")] + [os.listdir("/tmp")]))
        """)
        assert seen == [False, False, []], seen


@pytest.mark.parametrize("body,what", [
    ({"Code": "", "Runtime": "python3"}, "empty code"),
    ({"Code": "print(1)", "Runtime": "cobol"}, "unknown runtime"),
    ({"Code": "print(1)", "Runtime": ""}, "empty runtime"),
    ({"Code": "print(1)" + "#" * MiB, "Runtime": "python3"}, "code over 1 MiB"),
    ({"Code": "print(1)", "Runtime": "python3", "TimeoutMs": -5}, "negative timeout"),
], ids=["empty-code", "unknown-runtime", "empty-runtime", "code-over-1MiB", "negative-timeout"])
def test_bad_requests_are_a_400(lam, body, what):
    r = lam.api.post(RUN, token=lam.user.token, json=body, timeout=30)
    responses.append(r.text)
    assert_json_error(r, 400)


def test_code_of_exactly_1_mib_runs(lam):
    head = "print('big code ok')\n"
    code = head + "#" * (MiB - len(head))
    assert len(code.encode()) == MiB
    out = run_ok(lam, code)
    assert out["stdout"] == "big code ok\n"


def test_a_run_needs_a_token(lam):
    assert_json_error(lam.api.post(RUN, json={"Code": "print(1)", "Runtime": "python3"}), 401)


# ---------------------------------------------------------------- after the suite
# Keep these last: the first checks the live instance, the second stops it.


def test_zz_after_the_suite_only_the_warm_pool_is_alive(lam):
    assert_only_the_warm_pool_is_alive(lam)


def test_zz_stopping_the_instance_leaves_no_container_bundle_cgroup_mount_or_process(lam):
    assert_stopping_leaves_nothing(lam)
