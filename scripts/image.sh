#!/usr/bin/env bash
# Builds the install image (README "Installing with a DaemonSet") with podman:
# FROM scratch, holding dist/bin/spiderpool-cni and the C library it is linked
# against (a Bun executable needs the dynamic loader and libc; nothing else).
# Its entry point is `spiderpool-cni install` into the host paths mounted under
# /host; arguments given to the container are added (--stay, --pools-from,
# --alias, --links, --uninstall...). No registry is needed: the image is also
# saved as an OCI archive to load on nodes (podman load / ctr image import).
#
#   scripts/image.sh [--tag TAG] [--archive FILE]
#
# Defaults: localhost/spiderpool-cni:VERSION and dist/image/spiderpool-cni-VERSION.oci.tar.
# podman's own settings apply (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, ...).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json")
tag="localhost/spiderpool-cni:$version"
archive="$repo/dist/image/spiderpool-cni-$version.oci.tar"
exe="$repo/dist/bin/spiderpool-cni"

fail() {
  echo "image.sh: error: $*" >&2
  exit 1
}
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) [ -n "${2:-}" ] || fail "--tag needs a value"; tag=$2; shift 2 ;;
    --archive) [ -n "${2:-}" ] || fail "--archive needs a value"; archive=$2; shift 2 ;;
    *) echo "usage: scripts/image.sh [--tag TAG] [--archive FILE]" >&2; exit 2 ;;
  esac
done
[ -x "$exe" ] || fail "$exe is missing: run \"npm run build\" first"
command -v podman >/dev/null || fail "podman is missing: scripts/install-deps.sh installs it"

ctx=$(mktemp -d "${TMPDIR:-/tmp}/spiderpool-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/rootfs"
cp "$exe" "$ctx/rootfs/spiderpool-cni"
# What the executable is linked against (ldd: "libc.so.6 => /lib/..." and the loader's own line), at the same paths.
ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  cp -L --parents "$lib" "$ctx/rootfs/"
done
cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
ENTRYPOINT ["/spiderpool-cni", "install", "--dest", "/host/opt/cni/bin", "--pool-dir", "/host/etc/cni/spiderpool/ippools", "--data-dir", "/host/var/lib/cni/spiderpool"]
CONTAINERFILE
podman build --quiet --format oci --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.title=spiderpool-cni install" -t "$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
mkdir -p "$(dirname "$archive")"
rm -f "$archive"
podman save --quiet --format oci-archive -o "$archive" "$tag"
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "built $tag ($((size / 1048576)) MB), saved as $archive"
