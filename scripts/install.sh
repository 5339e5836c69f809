#!/usr/bin/env bash
# Installs the built plugins on a node, or removes them (see README "Installing
# on a node"): runs the executable's own `spiderpool-cni install`, which copies
# that one file into --dest and links spiderpool-ipam and ipvlan-attach to it.
# Every option but --src is install's (`scripts/install.sh --help`).
#
#   scripts/install.sh [--src DIR] [install's options...]
#
#   --src DIR   where the built spiderpool-cni is (default dist/bin of this checkout)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/dist/bin"

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --src)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: error: --src needs a value" >&2; exit 1; }
      src=$2; shift 2 ;;
    --src=*) src=${1#--src=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exe="$src/spiderpool-cni"
[ -f "$exe" ] && [ -x "$exe" ] || { echo "install.sh: error: $exe is missing: run \"npm run build\" first" >&2; exit 1; }
exec "$exe" install "${args[@]}"
