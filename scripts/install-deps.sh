#!/usr/bin/env bash
# Installs every Debian package Nexus needs to build, run, test and benchmark.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ make pkg-config ccache clang clang-format
  libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libcli11-dev libsodium-dev libjwt-dev libcurl4-openssl-dev
  libssl-dev uuid-dev libseccomp-dev zlib1g-dev libxml2-dev
  # PostgreSQL metadata back-end (libpq) and the throw-away cluster of its tests
  libpq-dev postgresql
  # tests
  libgtest-dev libgmock-dev python3 python3-pytest python3-requests python3-aiosmtpd strace
  # WebDAV clients of the e2e suite
  litmus rclone davfs2
  # S3 clients of the e2e suite (and node for the AWS SDK for JavaScript,
  # installed from npm below)
  python3-boto3 awscli s3cmd nodejs
  # containers (nodes, lambda)
  runc containernetworking-plugins e2fsprogs util-linux iproute2 iptables nftables
  # benchmarks
  wrk nginx-light hyperfine curl bubblewrap
  # the WebDAV benchmark's anchor: Apache httpd with mod_dav, run on its own config
  apache2
  # metrics: promtool and the prometheus server the e2e suite scrapes with
  prometheus
  # web UI tests: a real headless Chromium driven from pytest
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm comes with some builds of nodejs; Debian's own is a package of its own.
if ! command -v npm >/dev/null; then missing+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The npm libraries the tests use, pinned by their package-lock.json; npm ci
# runs again only when the lock file changed since the last install.
install_npm_libraries() {
  local dir stamp=node_modules/.package-lock.sha256
  for dir in "$(dirname "$0")/../tests/e2e/s3_sdk"; do
    if [ -f "$dir/$stamp" ] && (cd "$dir" && sha256sum --status -c "$stamp" 2>/dev/null); then
      continue
    fi
    echo "install-deps: npm ci in ${dir#*/../}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    (cd "$dir" && sha256sum package-lock.json >"$stamp")
  done
}

if [ ${#missing[@]} -eq 0 ]; then
  install_npm_libraries
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_libraries

# apache2's postinst starts the system service on port 80 wherever
# policy-rc.d allows it. The benchmark starts its own instance on a free
# 127.0.0.1 port, so a service installed just now is stopped and disabled.
if [[ " ${missing[*]} " == *" apache2 "* ]]; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now apache2 || true
  elif [ -x /etc/init.d/apache2 ]; then
    $SUDO /etc/init.d/apache2 stop || true
    $SUDO update-rc.d apache2 disable || true
  fi
fi
