#!/usr/bin/env bash
# Scenario: node create and delete through the API (POST /api/nodes, DELETE
# /api/nodes/:id: token check, gRPC, NodeManager) beside the bare floor of the
# same work done by hand in the same run, one step after another:
#   create floor: truncate + mkfs.ext4 + losetup + mount of a 1G volume,
#                 ip netns add + CNI ADD (bridge + host-local on a throw-away
#                 subnet 10.242.<n>.0/24 and bridge), runc run -d of a minimal
#                 bundle on that volume (host /usr bound read-only, 256 MiB,
#                 512 shares, the node's own netns)
#   teardown floor: runc delete -f + CNI DEL + ip netns delete + umount +
#                 losetup -d + rm
# Targets: create <= 1.3x its floor; delete <= 0.6x the teardown floor (which
# pays runc delete -f's fixed 100 ms sleep after SIGKILL, see STACK.md).
#
# NODES_RUNS (default 12) iterations, each timing one floor create, one floor
# teardown, one API create and one API delete, so both see the same noise.
# Everything it creates (containers, namespaces, mounts, loop devices,
# cgroups, bridges, files) is removed on exit, also after a failure.
# Needs root, runc, the CNI plugins, e2fsprogs and util-linux.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need runc "apt-get install runc"
need mkfs.ext4 "apt-get install e2fsprogs"
need losetup "apt-get install util-linux"
need ip "apt-get install iproute2"
[ "$(id -u)" = 0 ] || die "nodes need root (runc, CNI, loop mounts)"
CNI_PATH_DIR=${CNI_PATH_DIR:-/usr/lib/cni}
for p in bridge host-local; do
  [ -x "$CNI_PATH_DIR/$p" ] || die "no CNI plugin $CNI_PATH_DIR/$p (apt-get install containernetworking-plugins)"
done

RUNS=${NODES_RUNS:-12}
MEMORY_MB=256
SHARES=512
SIZE=1G

tag=$(printf '%04x%02x' "$RANDOM" "$((RANDOM % 256))")
work=$(mktemp -d /tmp/nexus-bench-nodes-XXXXXX)
floor_root="$work/runc"
floor_bridge="nxb-$tag"
floor_cgroup="nexus-bench-$tag"
floor_net="nexus-bench-$tag"
# Two different random /24s: the floor's and the API instance's.
octet=$((RANDOM % 256))
floor_subnet="10.242.$octet.0/24"
api_subnet="10.242.$(((octet + 1 + RANDOM % 255) % 256)).0/24"

# ---- cleanup of the floor (registered first, so it runs last) ----
floor_cleanup() {
  local c ns m l
  if [ -d "$floor_root" ]; then
    for c in $(runc --root "$floor_root" list -q 2>/dev/null); do
      runc --root "$floor_root" delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  for ns in $(ip netns list | awk -v t="floor-$tag-" 'index($1, t) == 1 { print $1 }'); do
    ip netns delete "$ns" 2>/dev/null || true
  done
  for m in $(awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  for l in $(losetup -a | awk -F: -v w="$work/" 'index($0, w) { print $1 }'); do
    losetup -d "$l" 2>/dev/null || true
  done
  find /sys/fs/cgroup -depth -type d -path "*/$floor_cgroup*" -exec rmdir {} + 2>/dev/null || true
  ip link delete "$floor_bridge" 2>/dev/null || true
  rm -rf "$work"
}
bench_cleanup_add floor_cleanup

# ---- the floor's bundle template and CNI config ----
swap_json=""
if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
  swap_json=", \"swap\": $((MEMORY_MB << 20))"
fi
runc spec --bundle "$work" >/dev/null
"$PY" - "$work/config.json" "$MEMORY_MB" "$SHARES" <<'PY' >"$work/template.json"
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/sh", "-c",
                           "trap 'exit 0' TERM INT; while :; do sleep 2147483647 & wait $!; done"]
spec["root"] = {"path": "@ROOTFS@", "readonly": False}
spec["hostname"] = "floor"
spec["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                       "options": ["rbind", "ro", "nosuid", "nodev"]})
ns = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
ns.append({"type": "network", "path": "@NETNS@"})
spec["linux"]["namespaces"] = ns
spec["linux"]["cgroupsPath"] = "@CGROUP@"
spec["linux"]["resources"] = {
    "memory": {"limit": int(sys.argv[2]) << 20},
    "cpu": {"shares": int(sys.argv[3])},
    "pids": {"limit": 1024},
}
print(json.dumps(spec))
PY
rm -f "$work/config.json"
template=$(<"$work/template.json")
if [ -n "$swap_json" ]; then
  template=${template/\"limit\": $((MEMORY_MB << 20))/\"limit\": $((MEMORY_MB << 20))$swap_json}
fi
cni_conf=$(printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipMasq":false,"hairpinMode":false,"ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]],"dataDir":"%s","routes":[{"dst":"0.0.0.0/0"}]}}' \
  "$floor_net" "$floor_bridge" "$floor_subnet" "$work/ipam")
mkdir -p "$floor_root"

cni() {  # cni ADD|DEL <netns name>
  CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
    CNI_PATH=$CNI_PATH_DIR "$CNI_PATH_DIR/bridge" <<<"$cni_conf" >/dev/null
}

# One bare create, as NodeManager does it; prints nothing, leaves the node up.
floor_create() {
  local i=$1 d="$work/n$i" ns="floor-$tag-$i" dev
  mkdir -p "$d/bundle" "$d/vol"
  truncate -s "$SIZE" "$d/disk.img"
  mkfs.ext4 -q -F -m 0 -E lazy_itable_init=1,lazy_journal_init=1 "$d/disk.img"
  dev=$(losetup --find --show "$d/disk.img")
  echo "$dev" >"$d/loop"
  mount -t ext4 -o nosuid,nodev "$dev" "$d/vol"
  ip netns add "$ns"
  cni ADD "$ns"
  mkdir -p "$d/vol/rootfs/usr" "$d/vol/rootfs/etc" "$d/vol/rootfs/root" "$d/vol/rootfs/tmp"
  ln -s usr/bin usr/lib usr/lib64 usr/sbin "$d/vol/rootfs/"
  echo "floor" >"$d/vol/rootfs/etc/hostname"
  local spec=${template//@ROOTFS@/$d/vol/rootfs}
  spec=${spec//@NETNS@//run/netns/$ns}
  spec=${spec//@CGROUP@//$floor_cgroup/$i}
  printf '%s' "$spec" >"$d/bundle/config.json"
  runc --root "$floor_root" run -d --bundle "$d/bundle" "floor-$tag-$i" </dev/null >/dev/null 2>&1
}

floor_teardown() {
  local i=$1 d="$work/n$i" ns="floor-$tag-$i"
  runc --root "$floor_root" delete -f "floor-$tag-$i"
  cni DEL "$ns"
  ip netns delete "$ns"
  umount "$d/vol"
  losetup -d "$(<"$d/loop")"
  rm -rf "$d"
}

# ---- the API instance ----
BENCH_NEXUS_ENV="NEXUS_NETWORK_SUBNET=$api_subnet" start_nexus
api_instance=$(tr '\0' '\n' <"/proc/${NEXUS_PIDS[nexusd]}/environ" | sed -n 's/^NEXUS_INSTANCE=//p')
[ -n "$api_instance" ] || die "could not read the instance name of nexusd"
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
api_cleanup() {
  local id
  for id in $(ncurl --max-time 30 "$NEXUS_URL/api/nodes" 2>/dev/null |
    "$PY" -c 'import json,sys; [print(n["id"]) for n in json.load(sys.stdin)]' 2>/dev/null); do
    ncurl --max-time 60 -X DELETE "$NEXUS_URL/api/nodes/$id" >/dev/null || true
  done
  ip link delete "nx-$api_instance" 2>/dev/null || true
  find /sys/fs/cgroup -depth -type d -path "*/nexus-$api_instance-nodes*" -exec rmdir {} + \
    2>/dev/null || true
}
# Runs before start_nexus's own cleanup stops the services.
bench_cleanup_add api_cleanup

probe=$(ncurl -o /dev/null -w '%{http_code}' -X POST "$NEXUS_URL/api/nodes" \
  -H 'Content-Type: application/json' -d '{"name":"probe","storage_size":"64M"}')
[ "$probe" = 201 ] || die "POST /api/nodes answered $probe (see $NEXUS_DATA_DIR_BENCH/nexusd.log)"
ncurl -o /dev/null -X DELETE "$NEXUS_URL/api/nodes/probe"

# ---- the runs ----
: >"$work/floor_create" >"$work/floor_teardown" >"$work/api_create" >"$work/api_delete"
log "$RUNS runs of: floor create, floor teardown, API create, API delete"
for ((i = 0; i < RUNS; i++)); do
  t0=$(now_s); floor_create "$i"; t1=$(now_s); floor_teardown "$i"; t2=$(now_s)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }' >>"$work/floor_create"
  awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }' >>"$work/floor_teardown"

  read -r code secs < <(ncurl -o "$work/resp" -w '%{http_code} %{time_total}\n' --max-time 60 \
    -X POST "$NEXUS_URL/api/nodes" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench$i\",\"memory_mb\":$MEMORY_MB,\"cpu_shares\":$SHARES,\"storage_size\":\"$SIZE\"}")
  [ "$code" = 201 ] || die "create bench$i: $code $(cat "$work/resp")"
  awk -v s="$secs" 'BEGIN { printf "%.2f\n", s * 1000 }' >>"$work/api_create"
  read -r code secs < <(ncurl -o "$work/resp" -w '%{http_code} %{time_total}\n' --max-time 60 \
    -X DELETE "$NEXUS_URL/api/nodes/bench$i")
  [ "$code" = 200 ] || die "delete bench$i: $code $(cat "$work/resp")"
  awk -v s="$secs" 'BEGIN { printf "%.2f\n", s * 1000 }' >>"$work/api_delete"
done

read -r fc50 fc99 < <(percentiles "$work/floor_create")
read -r ft50 ft99 < <(percentiles "$work/floor_teardown")
read -r ac50 ac99 < <(percentiles "$work/api_create")
read -r ad50 ad99 < <(percentiles "$work/api_delete")
create_ratio=$(ratio "$ac50" "$fc50")
delete_ratio=$(ratio "$ad50" "$ft50")
log "create: API median $ac50 ms, floor $fc50 ms (${create_ratio}x, target <= 1.3x)"
log "delete: API median $ad50 ms, floor teardown $ft50 ms (${delete_ratio}x, target <= 0.6x)"

bench_row_unit nodes anchor "bare create (mkfs, loop, CNI, runc run)" "$fc50" "$fc50" "$fc99" ms
bench_row_unit nodes subject "POST /api/nodes (1G, 256 MB)" "$ac50" "$ac50" "$ac99" ms \
  "${create_ratio}x floor (target <= 1.3x)"
bench_row_unit nodes anchor "bare teardown (runc delete -f, CNI DEL)" "$ft50" "$ft50" "$ft99" ms
bench_row_unit nodes subject "DELETE /api/nodes/:id" "$ad50" "$ad50" "$ad99" ms \
  "${delete_ratio}x teardown (target <= 0.6x)"
