"""/metrics: the Prometheus exposition of all three services through the
gateway — what an operator's Prometheus scrapes. Checked with Debian's
promtool, and scraped by Debian's real prometheus server."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from files_api import UPLOAD
from harness import MultipartBody, free_port, registered_user, skip_or_fail, wait_until
from http_client import assert_json_error

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"


def require(tool):
    if not os.access(tool, os.X_OK):
        skip_or_fail(f"{tool} not installed (Debian package prometheus)")


def scrape(inst):
    r = inst.api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return r.text


def sample(text, line_prefix):
    """The value of the first sample line that starts with `line_prefix`."""
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_exposition_passes_promtool_and_holds_every_services_figures(nexus, alice):
    require(PROMTOOL)
    for _ in range(3):
        assert nexus.api.get("/api/me", token=alice.token).status_code == 200
    text = scrape(nexus)
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
    assert check.returncode == 0, (check.stdout + check.stderr).decode() + "\n" + text
    assert sample(text, 'nexus_http_requests_total{method="GET",route="/api/me",code="2xx"}') >= 3
    for service in ("nexus-api", "nexus-auth", "nexusd"):
        assert sample(text, f'process_open_fds{{service="{service}"}}') > 0, service
        assert f'nexus_build_info{{service="{service}",' in text, service
    assert sample(text, 'nexus_backend_up{backend="auth"}') == 1
    assert sample(text, 'nexus_backend_up{backend="daemon"}') == 1
    assert sample(text, "nexus_auth_codes_sent_total") >= 1  # alice's registration
    assert sample(text, "nexus_storage_dedup_ratio") is not None
    assert "nexus_backend_call_duration_seconds_bucket{" in text
    # Labels are bounded: no user name, no token.
    assert alice.username not in text and alice.token not in text


def test_only_loopback_or_the_scrape_token_may_read_metrics(nexus, nexus_factory):
    # 127.0.0.7 is a local address, but not 127.0.0.1.
    assert_json_error(nexus.api_from("127.0.0.7").get("/metrics"), 403)

    inst = nexus_factory(env={"NEXUS_METRICS_SCRAPE_TOKEN": "scrape-s3cret"}, name="scrape")
    remote = inst.api_from("127.0.0.7")
    assert_json_error(remote.get("/metrics"), 401)
    assert_json_error(remote.get("/metrics", token="wrong"), 401)
    r = remote.get("/metrics", token="scrape-s3cret")
    assert r.status_code == 200 and "nexus_http_requests_total" in r.text
    assert inst.api.get("/metrics").status_code == 200


def prometheus_api(port, path, **params):
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as resp:
        return json.load(resp)["data"]


@pytest.fixture
def prometheus(nexus):
    """Debian's prometheus scraping `nexus` every second; its TSDB in a temporary
    dir; listening on 127.0.0.1 only. Stopped and removed however the test ends."""
    require(PROMETHEUS)
    work = tempfile.mkdtemp(prefix="nexus-e2e-prometheus-")
    port = free_port()
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: nexus\n    metrics_path: /metrics\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{nexus.port}']\n")
    log = open(os.path.join(work, "prometheus.log"), "wb")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield port, proc, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_prometheus_scrapes_the_gateway_and_sees_the_traffic_made(nexus, alice, prometheus):
    port, proc, work = prometheus

    def log():
        with open(os.path.join(work, "prometheus.log"), errors="replace") as f:
            return f.read()[-3000:]

    def target_up():
        assert proc.poll() is None, log()
        try:
            targets = prometheus_api(port, "targets")["activeTargets"]
        except OSError:
            return False
        return any(t["health"] == "up" for t in targets)

    wait_until(target_up, 30, "prometheus target up", interval=0.5)

    query = 'sum(nexus_http_requests_total{route="/api/fs/usage",code="2xx"})'

    def seen():
        result = prometheus_api(port, "query", query=query)["result"]
        return float(result[0]["value"][1]) if result else 0.0

    before = seen()
    made = 7
    for _ in range(made):
        assert nexus.api.get("/api/fs/usage", token=alice.token).status_code == 200
    wait_until(lambda: seen() >= before + made, 30, f"prometheus sees {made} requests",
               interval=0.5)
    up = prometheus_api(port, "query", query='up{job="nexus"}')["result"]
    assert up and up[0]["value"][1] == "1", up


def send_raw(port, data):
    """Sends `data` on a new connection; returns what the gateway answered
    before it closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_heads_refused_before_routing_are_counted_as_invalid(nexus):
    series = 'nexus_http_requests_total{method="other",route="invalid",code="4xx"}'
    before = sample(scrape(nexus), series) or 0
    assert send_raw(nexus.port, b"THIS IS NOT HTTP\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    big = b"GET /e2e-oversized HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 << 10) + b"\r\n\r\n"
    assert send_raw(nexus.port, big).startswith(b"HTTP/1.1 431 ")
    text = scrape(nexus)
    assert sample(text, series) == before + 2, text
    assert "e2e-oversized" not in text


def daemon_calls(text, method):
    labels = f'{{backend="daemon",method="{method}"}}'
    return (sample(text, "nexus_backend_call_duration_seconds_count" + labels),
            sample(text, "nexus_backend_call_errors_total" + labels))


def test_upload_and_download_streams_are_backend_calls_with_the_request_id(nexus_factory):
    inst = nexus_factory(name="streamcalls", env={"NEXUS_LOG_FORMAT": "json"})
    user = registered_user(inst, "streams")
    up_id = "up-" + secrets.token_hex(8)
    down_id = "down-" + secrets.token_hex(8)
    body = MultipartBody([("file", "streamed.bin", secrets.token_bytes(300 << 10))])
    r = inst.api.post(UPLOAD, token=user.token, data=body.to_bytes(),
                      headers={"Content-Type": body.content_type, "X-Request-Id": up_id})
    assert r.status_code == 200, r.text
    r = inst.api.get(f"/api/files/{r.json()['id']}/download", token=user.token,
                     headers={"X-Request-Id": down_id})
    assert r.status_code == 200 and len(r.content) == 300 << 10, r.text[:300]

    text = scrape(inst)
    assert daemon_calls(text, "UploadFile") == (1, 0), text
    assert daemon_calls(text, "DownloadFile") == (1, 0), text

    def rpc_lines(request_id, method):
        lines = [json.loads(line) for line in inst.logs()["nexusd"].splitlines()
                 if line.startswith("{")]
        return [o for o in lines
                if o.get("request_id") == request_id and f"/{method} " in o["message"]]

    wait_until(lambda: rpc_lines(up_id, "UploadFile"), 5, "nexusd logs the upload's call")
    wait_until(lambda: rpc_lines(down_id, "DownloadFile"), 5, "nexusd logs the download's call")
