#!/usr/bin/env bash
# Exits 0 if the running kernel can create an ipvlan link, 1 otherwise (also when the
# probe cannot run, e.g. without root). Probes in a throw-away network namespace so the
# host's links are never touched; the namespace is always deleted.
#   bash scripts/vm/host-has-ipvlan.sh && echo "run the VM tests on the host"
set -euo pipefail

ns=spiderpool-ipvlan-probe-$$
ip netns add "$ns" 2>/dev/null || exit 1
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT

# A master for the slave: dummy, or a veth on a kernel without dummy (like this project's
# CI host).
ip -n "$ns" link add probe0 type dummy 2>/dev/null ||
	ip -n "$ns" link add probe0 type veth peer name probe1 2>/dev/null ||
	exit 1
ip -n "$ns" link add probe-ipvl link probe0 type ipvlan mode l2 2>/dev/null || exit 1
