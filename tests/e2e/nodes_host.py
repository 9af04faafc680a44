"""What the nodes suites share: the host requirements of nodes, a view of
what a node instance holds on the host (found by its names, so a test can
check that nothing is left and remove it if something is), a private node
instance on its own subnet, and the create/exec calls through the API.
"""

import glob
import ipaddress
import os
import random
import shutil
import subprocess

from harness import new_user, register, skip_or_fail

MiB = 1 << 20
NODES = "/api/nodes"
CNI_DIR = "/usr/lib/cni"
# Long enough for a node create (runc, CNI, mkfs) on a busy 2-core host.
SLOW = 60
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def tool(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def missing_requirements():
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for name in ("runc", "ip", "mkfs.ext4", "losetup", "mount", "umount", "nft"):
        if tool(name) is None:
            missing.append(name)
    for plugin in ("bridge", "host-local"):
        if not os.access(os.path.join(CNI_DIR, plugin), os.X_OK):
            missing.append(f"{CNI_DIR}/{plugin} (containernetworking-plugins)")
    return missing


def host(*argv, check=False):
    """Runs a host command; returns its stdout (text)."""
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError(f"{argv}: {p.stderr}")
    return p.stdout


def cgroup_v2():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


class HostView:
    """What a node instance holds on the host, found by its names: the
    instance name is in every netns, container and cgroup; everything else
    lives under the data dir or on the instance's bridge."""

    def __init__(self, inst):
        self.instance = inst.env["NEXUS_INSTANCE"]
        self.data_dir = inst.data_dir
        self.bridge = "nx-" + self.instance
        self.runc_root = os.path.join(self.data_dir, "nodes", "runc")

    def netns(self):
        return [line.split()[0] for line in host(tool("ip"), "netns", "list").splitlines()
                if self.instance in line]

    def veths(self):
        out = host(tool("ip"), "-o", "link", "show", "master", self.bridge)
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line]

    def bridge_exists(self):
        return subprocess.run([tool("ip"), "link", "show", self.bridge],
                              capture_output=True).returncode == 0

    def mounts(self):
        points = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4]
                if point.startswith(self.data_dir + "/"):
                    points.append(point)
        return points

    def loops(self):
        return [line for line in host(tool("losetup"), "-a").splitlines()
                if self.data_dir + "/" in line]

    def cgroup_parents(self):
        name = f"nexus-{self.instance}-nodes"
        if cgroup_v2():
            return glob.glob(f"/sys/fs/cgroup/{name}")
        return glob.glob(f"/sys/fs/cgroup/*/{name}")

    def cgroups(self):
        found = []
        for parent in self.cgroup_parents():
            found += [e.path for e in os.scandir(parent) if e.is_dir()]
        return found

    def node_dirs(self):
        d = os.path.join(self.data_dir, "nodes", "by-uid")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def containers(self):
        if not os.path.isdir(self.runc_root):
            return []
        out = host(tool("runc"), "--root", self.runc_root, "list", "-q")
        return [c for c in out.split() if c]

    def nft_tables(self):
        """The instance's nftables tables, as "family name" ("bridge nexus-<instance>")."""
        if tool("nft") is None:
            return []
        return [line[len("table "):] for line in host(tool("nft"), "list", "tables").splitlines()
                if line.startswith("table ") and line.split()[-1] == "nexus-" + self.instance]

    def leftovers(self):
        return {k: v for k, v in {
            "containers": self.containers(), "netns": self.netns(), "veths": self.veths(),
            "mounts": self.mounts(), "loop devices": self.loops(), "cgroups": self.cgroups(),
            "node dirs": self.node_dirs(), "nft tables": self.nft_tables()}.items() if v}

    def force_clean(self):
        """Removes whatever is left, best effort, in dependency order."""
        for c in self.containers():
            host(tool("runc"), "--root", self.runc_root, "delete", "-f", c)
        for ns in self.netns():
            host(tool("ip"), "netns", "delete", ns)
        for point in sorted(self.mounts(), key=len, reverse=True):
            host(tool("umount"), "-l", point)
        for line in self.loops():
            host(tool("losetup"), "-d", line.split(":")[0])
        for path in sorted(self.cgroups() + self.cgroup_parents(), key=len, reverse=True):
            try:
                os.rmdir(path)
            except OSError:
                pass
        for table in self.nft_tables():
            host(tool("nft"), "delete", "table", *table.split())
        if self.bridge_exists():
            host(tool("ip"), "link", "delete", self.bridge)


def start_nodes_instance(factory, name, env=None):
    """A private instance for nodes on a random subnet 10.241.<n>.0/24 (never
    the default 10.0.42.0/24 of a running instance), with users alice and bob
    registered; skips (fails under CI=true) when the host cannot run nodes."""
    missing = missing_requirements()
    if missing:
        skip_or_fail("nodes need " + ", ".join(missing))
    subnet = ipaddress.ip_network(f"10.241.{random.randrange(256)}.0/24")
    # The bridge plugin turns IPv4 forwarding on for a network with a gateway;
    # delete_all_nodes puts it back.
    with open(IP_FORWARD) as f:
        ip_forward = f.read()
    inst = factory(env={"NEXUS_NETWORK_SUBNET": str(subnet), **(env or {})}, name=name)
    inst.subnet = subnet
    inst.ip_forward_before = ip_forward
    inst.host = HostView(inst)
    inst.alice = new_user("nodea")
    inst.bob = new_user("nodeb")
    register(inst, inst.alice)
    register(inst, inst.bob)
    return inst


def delete_all_nodes(inst, users):
    """Deletes every node of `users` through the API, then removes whatever
    is left on the host; best effort, for a fixture's teardown."""
    try:
        for user in users:
            r = inst.api.get(NODES, token=user.token, timeout=SLOW)
            for node in (r.json() if r.status_code == 200 else []):
                inst.api.request("DELETE", f"{NODES}/{node['id']}", token=user.token,
                                 timeout=SLOW)
    except Exception:  # noqa: BLE001 - teardown is best effort; force_clean follows
        pass
    inst.host.force_clean()
    with open(IP_FORWARD, "w") as f:
        f.write(inst.ip_forward_before)


def ip_at(inst, n):
    return str(inst.subnet.network_address + n)


def create(inst, user, body, expect=201):
    r = inst.api.post(NODES, token=user.token, json=body, timeout=SLOW)
    assert r.status_code == expect, f"create {body}: {r.status_code} {r.text}"
    return r.json()


def execute(inst, user, node, command, timeout_ms=None, expect=200):
    body = {"command": command}
    if timeout_ms is not None:
        body["timeout_ms"] = timeout_ms
    r = inst.api.post(f"{NODES}/{node}/exec", token=user.token, json=body, timeout=SLOW)
    assert r.status_code == expect, f"exec {command} in {node}: {r.status_code} {r.text}"
    return r.json()
