#!/usr/bin/env bash
# Installs the built plugins on a node, or removes them (see README "Installing
# on a node"). Every step says what it did; running it again changes nothing
# that is already in place, and a user's pool files are never overwritten.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

PLUGINS=(spiderpool-ipam ipvlan-attach)
ALIAS=spiderpool              # upstream's IPAM type name: NADs written for Spiderpool work unchanged
EXAMPLE=seed-pools.yaml.example # not loaded: only *.yaml, *.yml and *.json are
SEED_POOLS="$repo/test/fixtures/pools/seed-pools.yaml"

src="$repo/dist/bin"
dest=/opt/cni/bin
pool_dir=/etc/cni/spiderpool/ippools
data_dir=/var/lib/cni/spiderpool
alias=0 uninstall=0 purge=0 dry=0

usage() {
  cat <<EOF
usage: scripts/install.sh [--dest DIR] [--alias] [--pool-dir DIR] [--dry-run]
       scripts/install.sh --uninstall [--purge] [--dest DIR] [--pool-dir DIR] [--data-dir DIR] [--dry-run]

  --dest DIR      where the CNI runtime looks for plugins (default $dest)
  --alias         also install "$ALIAS" (a link to spiderpool-ipam), upstream's IPAM name
  --pool-dir DIR  the SpiderIPPool directory to create (default $pool_dir)
  --data-dir DIR  the allocation store, only touched by --purge (default $data_dir)
  --src DIR       the built executables (default dist/bin of this checkout)
  --uninstall     remove the executables and the alias; pool files and the store stay
  --purge         with --uninstall: also remove the pool directory and the store
  --dry-run       say what would be done, change nothing
EOF
}

fail() {
  echo "install.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  opt=$1
  case "$opt" in
    --*=*) set -- "${opt%%=*}" "${opt#*=}" "${@:2}"; continue ;;
  esac
  case "$opt" in
    --dest | --pool-dir | --data-dir | --src)
      [ $# -ge 2 ] && [ -n "$2" ] || fail "$opt needs a value"
      case "$opt" in
        --dest) dest=$2 ;;
        --pool-dir) pool_dir=$2 ;;
        --data-dir) data_dir=$2 ;;
        --src) src=$2 ;;
      esac
      shift 2 ;;
    --alias) alias=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || fail "--purge goes with --uninstall"

# did PAST PRESENT WHAT: "installed X", or "would install X" in a dry run.
did() {
  if [ "$dry" = 1 ]; then echo "would $2 $3"; else echo "$1 $3"; fi
}

# The seed's pools, every line commented so that even a renamed copy loads
# nothing by accident. Header lines start with "##": `sed -n 's/^# //p'`
# gives back exactly the YAML. (Compared through a pipe, not <(...): a minimal
# system may have no /dev/fd.)
example_text() {
  cat <<'EOF'
## The SpiderIPPools of Spiderpool's AWS guide: nodes master and worker1, NIC ens5.
## An example only: spiderpool-ipam loads *.yaml, *.yml and *.json from this
## directory, never this file. To start from it:
##   sed -n 's/^# //p' seed-pools.yaml.example > my-pools.yaml
## then put in your subnets, prefixes and node names, and check it with
##   spiderpool-ipam validate my-pools.yaml
EOF
  sed 's/^/# /' "$SEED_POOLS"
}

is_our_alias() {
  [ -L "$1" ] && [ "$(readlink "$1")" = spiderpool-ipam ]
}

# Copies to a temporary name in the target directory, then renames: a runtime
# running the plugin at that moment keeps the old file, never sees half a one
# (and a busy executable cannot be overwritten in place anyway: ETXTBSY).
install_file() {
  local from=$1 to=$2 mode=$3 tmp verb=installed
  if [ -f "$to" ] && [ ! -L "$to" ]; then
    if cmp -s "$from" "$to" && [ "$(stat -c %a "$to")" = "$mode" ]; then
      echo "unchanged $to"
      return
    fi
    verb=updated
  fi
  if [ "$dry" = 0 ]; then
    tmp=$(mktemp "$(dirname "$to")/.$(basename "$to").XXXXXX")
    if ! { cp "$from" "$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$to"; }; then
      rm -f "$tmp"
      fail "cannot install $to"
    fi
  fi
  did "$verb" "${verb%ed}" "$to ($mode)"
}

do_install() {
  local p
  for p in "${PLUGINS[@]}"; do
    [ -f "$src/$p" ] || fail "$src/$p is missing: run \"npm run build\" first"
  done
  [ -f "$SEED_POOLS" ] || fail "$SEED_POOLS is missing"
  [ ! -e "$dest" ] || [ -d "$dest" ] || fail "$dest exists and is not a directory"
  # Checked before anything is written: a refusal leaves the node as it was.
  if [ "$alias" = 1 ] && { [ -e "$dest/$ALIAS" ] || [ -L "$dest/$ALIAS" ]; } && ! is_our_alias "$dest/$ALIAS"; then
    fail "$dest/$ALIAS exists and is not our alias (upstream Spiderpool's plugin?): remove it first, or install without --alias"
  fi

  if [ ! -d "$dest" ]; then
    [ "$dry" = 1 ] || mkdir -p -m 0755 "$dest"
    did created create "$dest"
  fi
  for p in "${PLUGINS[@]}"; do install_file "$src/$p" "$dest/$p" 755; done

  if [ "$alias" = 1 ]; then
    if is_our_alias "$dest/$ALIAS"; then
      echo "unchanged $dest/$ALIAS -> spiderpool-ipam"
    else
      if [ "$dry" = 0 ]; then
        ln -s spiderpool-ipam "$dest/.$ALIAS.$$"
        mv -fT "$dest/.$ALIAS.$$" "$dest/$ALIAS"
      fi
      did linked link "$dest/$ALIAS -> spiderpool-ipam"
    fi
  fi

  if [ -d "$pool_dir" ]; then
    echo "kept $pool_dir (exists)"
    # The plugin refuses a poolDir others can write to; say so now, not at the first pod.
    if [ -n "$(find "$pool_dir" -maxdepth 0 -perm /022)" ]; then
      echo "warning: $pool_dir is writable by group or others; spiderpool-ipam will refuse it (chmod go-w $pool_dir)" >&2
    fi
  else
    [ "$dry" = 1 ] || mkdir -p -m 0700 "$pool_dir"
    did created create "$pool_dir (0700)"
  fi

  local example="$pool_dir/$EXAMPLE" tmp
  if [ -e "$example" ] || [ -L "$example" ]; then
    if [ -f "$example" ] && example_text | cmp -s - "$example"; then
      echo "unchanged $example"
    else
      echo "kept $example (changed by someone; not overwritten)"
    fi
  else
    if [ "$dry" = 0 ]; then
      tmp=$(mktemp "$pool_dir/.$EXAMPLE.XXXXXX")
      if ! { example_text >"$tmp" && chmod 600 "$tmp" && mv -f "$tmp" "$example"; }; then
        rm -f "$tmp"
        fail "cannot write $example"
      fi
    fi
    did wrote write "$example (the seed's pools, commented out: not loaded)"
  fi
  [ "$dry" = 1 ] || echo "next: put SpiderIPPool YAML into $pool_dir and a network configuration using \"type\": \"ipvlan-attach\" into /etc/cni/net.d (README)"
}

remove() {
  [ "$dry" = 1 ] || rm -rf -- "$1"
  did removed remove "$1${2:+ ($2)}"
}

do_uninstall() {
  local p left
  # Pods still holding addresses can no longer be released by their DEL once
  # the plugin is gone: say so before removing it.
  left=$({ find "$data_dir/attachments" -mindepth 2 -maxdepth 2 2>/dev/null || true; } | wc -l)
  if [ "$left" -gt 0 ]; then
    echo "warning: $left attachment(s) are still recorded in $data_dir: their pods' CNI DEL will fail without the plugin" >&2
  fi
  for p in "${PLUGINS[@]}"; do
    if [ -e "$dest/$p" ] || [ -L "$dest/$p" ]; then remove "$dest/$p"; else echo "absent $dest/$p"; fi
  done
  if is_our_alias "$dest/$ALIAS"; then
    remove "$dest/$ALIAS"
  elif [ -e "$dest/$ALIAS" ] || [ -L "$dest/$ALIAS" ]; then
    echo "kept $dest/$ALIAS (not our alias)"
  fi

  local example="$pool_dir/$EXAMPLE"
  if [ "$purge" = 1 ]; then
    if [ -d "$pool_dir" ]; then
      find "$pool_dir" -mindepth 1 -maxdepth 1 -print0 | sort -z | while IFS= read -r -d '' f; do
        did removed remove "$f"
      done
      remove "$pool_dir"
    fi
    if [ -d "$data_dir" ]; then remove "$data_dir" "the allocation store"; fi
    return
  fi
  if [ -f "$example" ]; then
    if example_text | cmp -s - "$example"; then remove "$example"; else echo "kept $example (changed by someone)"; fi
  fi
  [ ! -d "$pool_dir" ] || echo "kept $pool_dir and its pool files (--purge removes them)"
  [ ! -d "$data_dir" ] || echo "kept $data_dir, the allocation store (--purge removes it)"
}

if [ "$uninstall" = 1 ]; then do_uninstall; else do_install; fi
