"""Structured logs: with log_format = "json" every line the services log is
one JSON object, the gateway's access lines carry request_id, route,
status, duration_ms and user, and one request's X-Request-Id shows in the
logs of all three services (the gateway forwards it with its calls)."""

import json
import secrets

from harness import registered_user, wait_until


def json_lines(text):
    """The log's lines that are JSON objects (gRPC's own stderr lines are not)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def with_id(inst, service, request_id):
    return [o for o in json_lines(inst.logs()[service]) if o.get("request_id") == request_id]


def test_one_request_id_is_in_all_three_logs(nexus_factory):
    inst = nexus_factory(name="jsonlog", env={"NEXUS_LOG_FORMAT": "json"})
    user = registered_user(inst, "trace")
    request_id = "trace-" + secrets.token_hex(8)
    r = inst.api.get("/api/files", token=user.token, headers={"X-Request-Id": request_id})
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Request-Id") == request_id

    for service in ("nexus-api", "nexus-auth", "nexusd"):
        wait_until(lambda: with_id(inst, service, request_id), 5,
                   f"{service} logs request {request_id}")
    access = [o for o in with_id(inst, "nexus-api", request_id) if "route" in o]
    assert len(access) == 1, access
    line = access[0]
    assert line["route"] == "/api/files" and line["status"] == 200, line
    assert line["user"] == user.username and line["method"] == "GET", line
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0, line
    assert line["service"] == "nexus-api" and line["level"] == "info" and line["time"], line
    for service in ("nexus-auth", "nexusd"):
        for o in with_id(inst, service, request_id):
            assert o["service"] == service and o["message"], o


def test_every_line_of_our_loggers_is_json(nexus_factory):
    inst = nexus_factory(name="jsonall", env={"NEXUS_LOG_FORMAT": "json"})
    registered_user(inst, "all")
    inst.stop()
    for service, text in inst.logs().items():
        ours = [line for line in text.splitlines() if f"[{service}" in line]
        assert not ours, (service, ours[:3])  # a text line of our own format
        assert json_lines(text), service


def test_a_request_without_an_id_is_logged_under_the_one_it_was_given(nexus_factory):
    inst = nexus_factory(name="jsongen", env={"NEXUS_LOG_FORMAT": "json"})
    r = inst.api.get("/healthz")
    given = r.headers.get("X-Request-Id")
    assert given
    wait_until(lambda: with_id(inst, "nexus-api", given), 5, "the access line")
