"""Numbers from clients and from the configuration, attacked at their limits:
sizes that wrap around 2^64, integers beyond int64 (written as digits, as a
double or with an exponent), negative and fractional values, in node, exec
and lambda fields, HTTP headers and settings. Every one is a 400 with a JSON
error (a setting: a start-up error naming it), and nothing is created.

The node and lambda checks run twice: on an instance whose nodes and lambda
work when this host can run them, and on one where they cannot (missing CNI
plugins and runc), where a valid request is a 503 but a bad number must still
be a 400: input is checked before the host's abilities.
"""

import json
import os
import socket
import subprocess
import time

import pytest

from harness import assert_json_error, registered_user, upload

NODES = "/api/nodes"
RUN = "/api/lambda/run"
SLOW = 60

# Texts no int64 holds, or that are not whole: each is refused wherever an
# integer is expected. Written into the JSON body as they are.
BAD_NUMBERS = [
    "18446744073709551680",  # 2^64 + 64: what storage_size wrapped to 64M
    "18446744073709551616",  # 2^64
    "18446744073709551615",  # UINT64_MAX
    "9223372036854775808",  # INT64_MAX + 1
    "-9223372036854775809",  # INT64_MIN - 1
    "-9223372036854775808",  # INT64_MIN
    "99999999999999999999999999999999",
    "-1",
    "1e30",
    "-1e30",
    "1e400",  # beyond even a double
    "1.5",
    "256.0",
]

# storage_size as a string: sizes beyond int64, negative or malformed.
BAD_SIZES = [
    "18446744073709551680M",  # the reported one: accepted as 64 MiB (201)
    "18446744073709551616",
    "18446744073709551617",
    "18446744073709551615B",
    "9223372036854775808",
    "9223372036854775807",  # fits int64, but far above the largest node
    "9223372036854775807K",
    "8192P",
    "17179869184G",
    "36893488147419103232K",
    "99999999999999999999999999999999G",
    "-1G",
    "1e30",
    "1.5",  # a fraction of a byte
    "0x10G",
]


def raw_json(api, path, token, text):
    """POSTs `text` as the JSON body exactly as written (json.dumps would
    rewrite 1e400 and 256.0)."""
    return api.post(path, token=token, data=text.encode(),
                    headers={"Content-Type": "application/json"}, timeout=SLOW)


def node_body(name, field, number_text):
    body = {"name": name, "memory_mb": 64, "cpu_shares": 512, "storage_size": "64M"}
    text = json.dumps(body)
    return text.replace(json.dumps(field) + ": " + json.dumps(body[field]),
                        json.dumps(field) + ": " + number_text)


def delete_all_nodes(inst, user):
    r = inst.api.get(NODES, token=user.token, timeout=SLOW)
    if r.status_code != 200:
        return []
    names = [n["id"] for n in r.json()]
    for name in names:
        inst.api.request("DELETE", f"{NODES}/{name}", token=user.token, timeout=SLOW)
    return names


@pytest.fixture
def able(nexus_factory):
    """An instance with the host's own abilities (nodes and lambda work as root)."""
    inst = nexus_factory(name="numbers")
    inst.user = registered_user(inst, "num")
    yield inst
    # A size that wrapped around made a node: never leave it on the host.
    delete_all_nodes(inst, inst.user)


@pytest.fixture
def unable(nexus_factory):
    """An instance that cannot run nodes or lambda, whatever the host."""
    inst = nexus_factory(name="nonodes", env={
        "NEXUS_NETWORK_CNI_PATH": "/nonexistent-cni-plugins",
        "NEXUS_LAMBDA_RUNC_PATH": "/nonexistent/runc",
    })
    inst.user = registered_user(inst, "num")
    yield inst
    delete_all_nodes(inst, inst.user)


def check_node_numbers(inst):
    user = inst.user
    for i, size in enumerate(BAD_SIZES):
        body = node_body(f"size{i}", "storage_size", json.dumps(size))
        r = raw_json(inst.api, NODES, user.token, body)
        err = assert_json_error(r, 400)
        assert "storage_size" in err["error"], (size, err)
    for field in ("memory_mb", "cpu_shares", "storage_size"):
        for i, number in enumerate(BAD_NUMBERS + ["9223372036854775807"]):
            body = node_body(f"{field.replace('_', '')}{i}", field, number)
            r = raw_json(inst.api, NODES, user.token, body)
            err = assert_json_error(r, 400)
            if number != "1e400":  # the whole body is refused before any field
                assert field in err["error"], (field, number, err)
    # Nothing was made, not even a row: the list is empty.
    r = inst.api.get(NODES, token=user.token, timeout=SLOW)
    if r.status_code == 200:
        assert r.json() == [], r.text
    else:
        assert_json_error(r, 503)


def check_exec_numbers(inst):
    for number in BAD_NUMBERS + ["9223372036854775807"]:
        body = '{"command": ["true"], "timeout_ms": ' + number + "}"
        r = raw_json(inst.api, f"{NODES}/absent/exec", inst.user.token, body)
        err = assert_json_error(r, 400)
        if number != "1e400":
            assert "timeout_ms" in err["error"], (number, err)


def check_lambda_numbers(inst):
    for field in ("TimeoutMs", "MemoryMb"):
        for number in BAD_NUMBERS + ["9223372036854775807"]:
            body = '{"Code": "print(1)", "Runtime": "python3", "' + field + '": ' + number + "}"
            r = raw_json(inst.api, RUN, inst.user.token, body)
            err = assert_json_error(r, 400)
            if number not in ("1e400", "9223372036854775807"):
                assert f"'{field}'" in err["error"], (field, number, err)


def test_the_reported_storage_size_and_its_friends_are_a_400_and_make_no_node(able):
    check_node_numbers(able)


def test_exec_and_lambda_limits_beyond_int64_are_a_400(able):
    check_exec_numbers(able)
    check_lambda_numbers(able)


def test_bad_numbers_are_a_400_even_where_nodes_and_lambda_are_unavailable(unable):
    user = unable.user
    valid = {"name": "fine", "memory_mb": 64, "cpu_shares": 512, "storage_size": "64M"}
    assert_json_error(unable.api.post(NODES, token=user.token, json=valid, timeout=SLOW), 503)
    assert_json_error(unable.api.post(RUN, token=user.token, timeout=SLOW,
                                      json={"Code": "print(1)", "Runtime": "python3"}), 503)
    check_node_numbers(unable)
    check_exec_numbers(unable)
    check_lambda_numbers(unable)


def test_a_number_beyond_a_double_in_any_json_body_is_a_400_not_a_500(nexus):
    for path in ("/auth/register/init", "/auth/login/init", "/auth/login/verify"):
        r = raw_json(nexus.api, path, None, '{"Username": "x", "Password": "y", "n": 1e400}')
        assert_json_error(r, 400)


def _send_head(port, head):
    """Sends `head` (a request head, no body) and returns the raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_a_content_length_beyond_uint64_or_not_a_number_is_a_400(nexus):
    for length in ("18446744073709551616", "99999999999999999999999999", "-1", "1e3"):
        answer = _send_head(nexus.port, "POST /auth/login/init HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\n"
                            f"Content-Length: {length}\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), (length, answer[:300])
        assert b"application/json" in head.lower(), head
        assert json.loads(body)["error"], body


def test_range_positions_beyond_int64_are_past_the_end_not_ignored(nexus):
    user = registered_user(nexus, "rng")
    data = os.urandom(1000)
    r = upload(nexus.api, user.token, "/api/files/upload", [("file", "r.bin", data)])
    assert r.status_code == 200, r.text
    path = f"/api/files/{r.json()['id']}/download"

    def get(range_value):
        return nexus.api.get(path, token=user.token, headers={"Range": range_value})

    for first in ("99999999999999999999", "9223372036854775808", "18446744073709551616"):
        r = get(f"bytes={first}-")
        assert_json_error(r, 416)
        assert r.headers.get("Content-Range") == "bytes */1000", r.headers
    for spec in ("bytes=0-99999999999999999999", "bytes=-99999999999999999999",
                 "bytes=0-18446744073709551615"):
        r = get(spec)
        assert r.status_code == 206, (spec, r.status_code, r.text[:200])
        assert r.headers.get("Content-Range") == "bytes 0-999/1000", (spec, r.headers)
        assert r.content == data
    r = get("bytes=10-99999999999999999999")
    assert r.status_code == 206 and r.content == data[10:], r.status_code


def _nexusd_refuses_to_start(inst, env, timeout=10):
    """Starts only nexusd with `env` added; returns (exit code, its log)."""
    inst.env.update(env)
    inst.start_service("nexusd")
    proc = inst.procs["nexusd"]
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        inst.stop_service("nexusd")
    else:
        del inst.procs["nexusd"]
    return code, inst.logs()["nexusd"]


@pytest.mark.parametrize("name,value,words", [
    ("NEXUS_LAMBDA_TIMEOUT_MS_MAX", "9223372036854775807", "from 1 to 86400000"),
    ("NEXUS_LAMBDA_MEMORY_MB_MAX", "9223372036854775807", "from 1 to 1048576"),
    ("NEXUS_NODES_MAX_MEMORY_MB", "17592186044416", "from 1 to 16777216"),
    ("NEXUS_STORAGE_QUOTA_BYTES", "18446744073709551616", "from -1 to"),
    ("NEXUS_NODES_EXEC_TIMEOUT_MS_MAX", "1e30", "from 1 to 86400000"),
    ("NEXUS_NODES_PIDS_LIMIT", " 64", "from 1 to 4194304"),
])
def test_a_setting_out_of_range_stops_nexusd_at_start_naming_it(nexus_factory, name, value,
                                                                 words):
    inst = nexus_factory(name="badcfg", start=False)
    start = time.monotonic()
    code, log = _nexusd_refuses_to_start(inst, {name: value})
    assert code == 2, f"nexusd exit code {code} after {time.monotonic() - start:.1f} s:\n{log}"
    assert f"environment variable {name} must be an integer {words}" in log, log
