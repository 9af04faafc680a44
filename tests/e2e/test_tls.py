"""TLS on the gateway: with [gateway] tls_cert and tls_key set it speaks
HTTPS only (TLS 1.2+), verified against a test CA made here with openssl;
requests, an upload and its download round-trip through curl --cacert;
keep-alive works as over HTTP; SIGHUP re-reads the certificate, so a new
connection sees the new one while an open connection carries on. The S3
listener uses the same certificate."""

import hashlib
import http.client
import json
import os
import signal
import ssl
import subprocess

import pytest

from harness import Api, registered_user, skip_or_fail, wait_until

MiB = 1 << 20


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=Nexus test CA", cwd=d)
    return os.path.join(d, "ca.pem")


def make_server_cert(d, common_name, cert="server.pem", key="server.key"):
    """A certificate for 127.0.0.1 signed by the test CA, written over cert/key."""
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "new.key", "-out", "new.csr",
            "-subj", f"/CN={common_name}", cwd=d)
    openssl("x509", "-req", "-in", "new.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "new.pem", "-days", "2", "-extfile", "san.cnf", cwd=d)
    # Renamed into place, as a certificate renewal does.
    os.replace(os.path.join(d, "new.pem"), os.path.join(d, cert))
    os.replace(os.path.join(d, "new.key"), os.path.join(d, key))


def peer_common_name(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    conn.connect()
    cert = conn.sock.getpeercert()
    conn.close()
    return dict(x[0] for x in cert["subject"])["commonName"]


def curl(ca, *args):
    r = subprocess.run(["curl", "-sS", "--fail-with-body", "--noproxy", "*", "--cacert", ca,
                        *args], capture_output=True, timeout=120)
    assert r.returncode == 0, (r.returncode, r.stdout[-500:], r.stderr[-500:])
    return r


@pytest.fixture
def tls_instance(nexus_factory, tmp_path):
    for tool in ("openssl", "curl"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            skip_or_fail(f"{tool} is not installed")
    d = str(tmp_path)
    ca = make_ca(d)
    make_server_cert(d, "nexus-first")
    inst = nexus_factory(name="tls", start=False, env={
        "NEXUS_GATEWAY_TLS_CERT": os.path.join(d, "server.pem"),
        "NEXUS_GATEWAY_TLS_KEY": os.path.join(d, "server.key"),
    })
    inst.api = Api(f"https://127.0.0.1:{inst.port}", ca_file=ca)
    inst.start()
    return inst, d, ca


def test_https_round_trip_with_curl(tls_instance):
    inst, d, ca = tls_instance
    base = f"https://127.0.0.1:{inst.port}"
    assert b'"ok"' in curl(ca, f"{base}/healthz").stdout
    user = registered_user(inst, "tls")
    auth = ["-H", f"Authorization: Bearer {user.token}"]
    assert user.username.encode() in curl(ca, *auth, f"{base}/api/me").stdout

    src = os.path.join(d, "upload.bin")
    data = os.urandom(3 * MiB + 17)
    with open(src, "wb") as f:
        f.write(data)
    info = json.loads(curl(ca, *auth, "-F", f"file=@{src}", f"{base}/api/files/upload").stdout)
    assert info["size"] == len(data)
    out = os.path.join(d, "download.bin")
    curl(ca, *auth, "-o", out, f"{base}/api/files/{info['id']}/download")
    with open(out, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_keep_alive_over_tls(tls_instance):
    inst, _, ca = tls_instance
    base = f"https://127.0.0.1:{inst.port}"
    r = curl(ca, "-v", "-o", "/dev/null", "-o", "/dev/null", f"{base}/healthz", f"{base}/healthz")
    assert b"Re-using existing connection" in r.stderr, r.stderr[-1500:]


def test_plain_http_and_old_tls_are_refused(tls_instance):
    inst, _, ca = tls_instance
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", f"http://127.0.0.1:{inst.port}/healthz"],
                       capture_output=True, timeout=30)
    assert r.returncode != 0 or b'"ok"' not in r.stdout
    # The client allows anything (SECLEVEL=0): what is refused, the server refuses.
    def protocol(flag):
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{inst.port}", flag,
                            "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", ca],
                           input=b"", capture_output=True, timeout=30)
        out = r.stdout.decode(errors="replace")
        if "Cipher is (NONE)" in out:  # no handshake (the Protocol line shows the one tried)
            return None
        return next((line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.strip().startswith("Protocol  :")), None)
    assert protocol("-tls1_1") != "TLSv1.1"
    assert protocol("-tls1") != "TLSv1"
    assert protocol("-tls1_2") == "TLSv1.2"


def test_sighup_reloads_the_certificate_without_dropping_connections(tls_instance):
    inst, d, ca = tls_instance
    assert peer_common_name(inst.port, ca) == "nexus-first"
    live = http.client.HTTPSConnection("127.0.0.1", inst.port,
                                       context=ssl.create_default_context(cafile=ca), timeout=10)
    live.request("GET", "/healthz")
    first = live.getresponse()
    assert first.status == 200, first.status
    first.read()

    make_server_cert(d, "nexus-second")
    inst.procs["nexus-api"].send_signal(signal.SIGHUP)
    wait_until(lambda: peer_common_name(inst.port, ca) == "nexus-second", 5,
               "a new connection sees the new certificate")
    # The connection opened before the reload still serves.
    live.request("GET", "/healthz")
    resp = live.getresponse()
    assert resp.status == 200, resp.status
    resp.read()
    live.close()
    assert inst.procs["nexus-api"].poll() is None


def test_the_s3_listener_speaks_tls_too_and_reloads_with_the_gateway(tls_instance):
    inst, d, ca = tls_instance
    user = registered_user(inst, "tls3")
    key = json.loads(curl(ca, "-X", "POST", "-H", f"Authorization: Bearer {user.token}",
                          f"https://127.0.0.1:{inst.port}/api/s3-keys").stdout)
    s3 = f"https://127.0.0.1:{inst.s3_port}"
    # curl 7.88 signs but does not send the payload hash S3 requires.
    sign = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
            f"{key['access_key']}:{key['secret_key']}",
            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
    curl(ca, *sign, "-X", "PUT", f"{s3}/tls-bucket")
    curl(ca, *sign, "-T", "-", f"{s3}/tls-bucket/k.txt")  # an empty body from stdin
    assert b"<Name>tls-bucket</Name>" in curl(ca, *sign, f"{s3}/").stdout
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", f"http://127.0.0.1:{inst.s3_port}/"],
                       capture_output=True, timeout=30)
    assert b"ListAllMyBucketsResult" not in r.stdout
    assert peer_common_name(inst.s3_port, ca) == "nexus-first"
    make_server_cert(d, "nexus-renewed")
    inst.procs["nexus-api"].send_signal(signal.SIGHUP)
    wait_until(lambda: peer_common_name(inst.s3_port, ca) == "nexus-renewed", 5,
               "the S3 listener sees the new certificate")


def test_a_bad_key_refuses_to_start(nexus_factory, tmp_path):
    d = str(tmp_path)
    make_ca(d)
    make_server_cert(d, "nexus-first")
    with open(os.path.join(d, "other.key"), "w"):
        pass
    inst = nexus_factory(name="tlsbad", start=False, env={
        "NEXUS_GATEWAY_TLS_CERT": os.path.join(d, "server.pem"),
        "NEXUS_GATEWAY_TLS_KEY": os.path.join(d, "other.key"),
    })
    inst.start_service("nexus-api")
    code = inst.procs["nexus-api"].wait(timeout=10)
    assert code != 0
    assert "TLS key" in inst.logs()["nexus-api"]
