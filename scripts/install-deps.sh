#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian machine
# (as root): system packages from Debian, then the npm dependencies (which
# bring Bun). Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  containernetworking-plugins # Go reference plugins: interop and benchmark baseline
  iproute2                    # test scaffolding (ip netns, ip -j)
  iputils-ping curl iptables  # pings, a TCP client and kube-proxy-style DNAT in tests and the demo
  qemu-system-x86             # a guest kernel with ipvlan when the host has none
  busybox-static cpio python3 # the guest's initramfs and kernel extraction
  golang-go golang-github-appc-cni-dev # a libcni client for runtime interop tests
  procps                      # pgrep/pkill in test cleanup
  strace                      # reliability: kills at exact store syscalls (fault injection)
  etcd-server etcd-client     # real etcd members for the etcd store backend's tests
  podman runc                 # npm run image (the install image) and its test; runc: crun fails on hybrid cgroups
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
