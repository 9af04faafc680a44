"""Two hosts on one machine, for test_multi_host.py: a test bridge in the
root network namespace with two network namespaces on it, each with an
address of its own (10.243.<n>.2 and .3; the bridge holds .1); a throw-away
CA with a server certificate per host and a client certificate for the
gateways; and a host's nexusd and nexus-api run inside its namespace. Every
host-global name carries the test's instance name, and HostNet.remove()
takes all of it down again, the processes in the namespaces first.

A service enters its host's namespace with nsenter --net, which changes the
network namespace only. `ip netns exec` would also give it a mount namespace
of its own with a fresh /sys, without /sys/fs/cgroup (which nexusd and runc
need for nodes), and keep the nodes' mounts out of the test's sight and out
of a restarted daemon's.
"""

import ipaddress
import os
import random
import secrets
import signal
import socket
import ssl
import subprocess
import urllib.parse
from dataclasses import dataclass

import pytest
import requests

from harness import SERVICES, Api, stop_process, wait_until
from nodes_host import host, tool

PREFIX = "10.243"
# Inside a namespace of its own every port is free.
DAEMON_PORT = 7443
GATEWAY_PORT = 8080
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


# ---------------------------------------------------------------- network


@dataclass
class Side:
    """One host's end of the test network."""
    name: str    # "host-a": the daemon's host name too
    netns: str
    ip: str
    outer: str   # the veth end on the bridge, in the root namespace
    inner: str   # its peer inside the namespace


def _unused_network():
    """A 10.243.<n>.0/24 no address or route of this machine mentions."""
    ip = tool("ip")
    seen = host(ip, "-4", "-o", "addr", "show") + host(ip, "-4", "route", "show", "table", "all")
    for n in random.sample(range(256), 256):
        if f"{PREFIX}.{n}." not in seen:
            return ipaddress.ip_network(f"{PREFIX}.{n}.0/24")
    raise RuntimeError(f"every {PREFIX}.<n>.0/24 is in use on this machine")


class HostNet:
    """The bridge `<tag>br` (10.243.<n>.1/24) and, per host, the namespace
    `<tag>-<x>` holding 10.243.<n>.<2, 3, ...> on the veth pair
    `<tag><x>0` (on the bridge) / `<tag><x>1` (inside), with lo up."""

    def __init__(self, tag, keys=("a", "b")):
        assert len(tag) + 3 <= 15, tag  # interface names
        self.tag = tag
        self.bridge = f"{tag}br"
        self.network = _unused_network()
        self.bridge_ip = str(self.network.network_address + 1)
        self.sides = {
            key: Side(f"host-{key}", f"{tag}-{key}", str(self.network.network_address + 2 + i),
                      f"{tag}{key}0", f"{tag}{key}1")
            for i, key in enumerate(keys)}

    def create(self):
        ip = tool("ip")
        host(ip, "link", "add", self.bridge, "type", "bridge", check=True)
        host(ip, "addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge, check=True)
        host(ip, "link", "set", self.bridge, "up", check=True)
        for s in self.sides.values():
            host(ip, "netns", "add", s.netns, check=True)
            host(ip, "link", "add", s.outer, "type", "veth", "peer", "name", s.inner,
                 "netns", s.netns, check=True)
            host(ip, "link", "set", s.outer, "master", self.bridge, "up", check=True)
            host(ip, "-n", s.netns, "addr", "add", f"{s.ip}/24", "dev", s.inner, check=True)
            host(ip, "-n", s.netns, "link", "set", s.inner, "up", check=True)
            host(ip, "-n", s.netns, "link", "set", "lo", "up", check=True)
        return self

    def free_port(self):
        """A TCP port on the bridge address that nothing listens on right now."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((self.bridge_ip, 0))
            return s.getsockname()[1]

    def remove(self):
        """Kills whatever still runs in the namespaces, then removes them, the
        veths and the bridge: whichever of them exist (best effort)."""
        ip = tool("ip")
        for s in self.sides.values():
            if os.path.exists(f"/run/netns/{s.netns}"):
                kill_all_in(s.netns)
            if _link_exists(s.outer):
                host(ip, "link", "delete", s.outer)  # its peer goes with it
            if os.path.exists(f"/run/netns/{s.netns}"):
                host(ip, "netns", "delete", s.netns)
        if _link_exists(self.bridge):
            host(ip, "link", "delete", self.bridge)

    def leftovers(self):
        names = [s.outer for s in self.sides.values()] + [self.bridge]
        return ([n for n in names if _link_exists(n)] +
                [s.netns for s in self.sides.values() if os.path.exists(f"/run/netns/{s.netns}")])


def _link_exists(name):
    return subprocess.run([tool("ip"), "link", "show", name], capture_output=True,
                          timeout=30).returncode == 0


def kill_all_in(netns):
    """SIGKILLs every process in network namespace `netns` (all of them
    started by the test, or by the services it started there)."""
    pids = [int(p) for p in host(tool("ip"), "netns", "pids", netns).split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- certificates


@dataclass
class Certs:
    ca: str          # the CA both sides trust
    servers: dict    # host name -> (cert, key), with the host's address as IP SAN
    client: tuple    # (cert, key): the gateways' client certificate
    stranger: tuple  # (cert, key): a client certificate of another CA


_CA_CONFIG = """[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = {cn}
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_REQ_CONFIG = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = {cn}
"""

_LEAF_EXTENSIONS = """[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
{san}
"""

_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _openssl(directory, *args):
    r = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr}")


def _write(directory, name, text):
    with open(os.path.join(directory, name), "w") as f:
        f.write(text)


def _private(*paths):
    for p in paths:
        os.chmod(p, 0o600)


def _make_ca(directory, name, cn):
    _write(directory, f"{name}.cnf", _CA_CONFIG.format(cn=cn))
    _openssl(directory, "req", "-x509", "-config", f"{name}.cnf", *_EC, "-keyout", f"{name}.key",
             "-out", f"{name}.pem", "-days", "2")
    _private(os.path.join(directory, f"{name}.key"))


def _make_leaf(directory, ca, name, usage, san=""):
    _write(directory, f"{name}.cnf", _REQ_CONFIG.format(cn=name))
    _write(directory, f"{name}.ext", _LEAF_EXTENSIONS.format(usage=usage, san=san))
    _openssl(directory, "req", "-new", "-config", f"{name}.cnf", *_EC, "-keyout", f"{name}.key",
             "-out", f"{name}.csr")
    _openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
             f"{ca}.key", "-set_serial", str(secrets.randbits(63)), "-days", "2",
             "-extfile", f"{name}.ext", "-extensions", "leaf", "-out", f"{name}.pem")
    cert, key = (os.path.join(directory, f"{name}.{ext}") for ext in ("pem", "key"))
    _private(key)
    return cert, key


def make_certs(directory, server_ips):
    """A CA, a server certificate per {host name: address} (the address as
    IP subjectAltName, which gRPC checks), the gateways' client certificate,
    and one client certificate of another CA; PEM files in `directory`
    (private: keys 0600)."""
    _make_ca(directory, "ca", "Nexus multi-host test CA")
    servers = {name: _make_leaf(directory, "ca", name, "serverAuth", f"subjectAltName = IP:{ip}")
               for name, ip in server_ips.items()}
    client = _make_leaf(directory, "ca", "gateway", "clientAuth")
    _make_ca(directory, "other-ca", "Some other CA")
    stranger = _make_leaf(directory, "other-ca", "stranger", "clientAuth")
    return Certs(os.path.join(directory, "ca.pem"), servers, client, stranger)


def speaks_grpc_tls(ip, port, ca, client=None, timeout=10):
    """Whether ip:port, its certificate checked against `ca` and `ip`, answers
    the HTTP/2 client preface with its SETTINGS frame over TLS (what a gRPC
    client sees first) for a client presenting `client` (cert, key) or none.
    False when the handshake fails or the server ends the connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.set_alpn_protocols(["h2"])
    if client is not None:
        ctx.load_cert_chain(*client)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    with socket.create_connection((ip, port), timeout=timeout) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname=ip) as s:
                s.sendall(preface)
                head = b""
                while len(head) < 9:
                    more = s.recv(9 - len(head))
                    if not more:
                        return False
                    head += more
                return head[3] == 0x04  # the frame type: SETTINGS
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return False


# ---------------------------------------------------------------- services


class NetApi(Api):
    """An Api to a gateway on the test network: its base URL must name an
    address of `network`, never any other (harness.Api keeps to 127.0.0.1)."""

    def __init__(self, base_url, network):
        address = ipaddress.ip_address(urllib.parse.urlsplit(base_url).hostname)
        assert address in network, base_url
        self.base_url = base_url
        self.source_address = None
        self.session = requests.Session()
        self.session.trust_env = False


def start_in_netns(netns, argv, env, cwd, log_path):
    """Starts `argv` in network namespace `netns` (nsenter execs it: the
    process is the program), its output appended to `log_path`."""
    log = open(log_path, "ab")
    try:
        return subprocess.Popen([tool("nsenter"), f"--net=/run/netns/{netns}", "--", *argv],
                                env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


class Host:
    """One host: its nexusd and nexus-api, run in its namespace with its
    settings (env), their logs, and an Api to its gateway."""

    def __init__(self, net, side, env, build_dir, log_paths):
        self.side = side
        self.name = self.label = side.name
        self.netns = side.netns
        self.ip = side.ip
        self.env = env
        self.data_dir = env["NEXUS_DATA_DIR"]
        self.build_dir = build_dir
        self.log_paths = log_paths  # service -> log file
        self.procs = {}
        self.api = NetApi(f"http://{side.ip}:{GATEWAY_PORT}", net.network)

    def binary(self, service):
        return os.path.join(self.build_dir, dict(SERVICES)[service])

    def start(self, service):
        """Starts nexusd or nexus-api and waits until it listens (nexusd)
        or answers /healthz (nexus-api)."""
        proc = start_in_netns(self.netns, [self.binary(service)], self.env, self.data_dir,
                              self.log_paths[service])
        self.procs[service] = proc

        def ready():
            if proc.poll() is not None:
                pytest.fail(f"{self.name} {service} exited with {proc.returncode} during "
                            f"start-up\n{self.logs_text(60)}", pytrace=False)
            return self._listening(DAEMON_PORT) if service == "nexusd" else self._healthy()
        wait_until(ready, START_TIMEOUT_S, f"{self.name} {service} did not come up", interval=0.1)

    def _listening(self, port):
        try:
            socket.create_connection((self.ip, port), timeout=1).close()
            return True
        except OSError:
            return False

    def _healthy(self):
        try:
            return self.api.get("/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, service, sig=signal.SIGTERM):
        proc = self.procs.pop(service, None)
        return None if proc is None else stop_process(proc, sig, STOP_TIMEOUT_S)

    def stop_all(self):
        for service in ("nexus-api", "nexusd"):
            self.stop(service)

    def dead(self):
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def logs_text(self, tail=200):
        parts = []
        for service, path in self.log_paths.items():
            try:
                with open(path, errors="replace") as f:
                    lines = f.read().splitlines()[-tail:]
            except FileNotFoundError:
                lines = []
            parts.append(f"----- {self.name} {service} (last {len(lines)} lines) -----")
            parts.extend(lines)
        return "\n".join(parts)
