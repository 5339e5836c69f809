#!/usr/bin/env bash
# Prepares what run.sh boots: a stock Debian kernel (which has ipvlan, unlike the host's)
# and a small busybox initramfs. Idempotent: everything is cached under
#   $SPIDERPOOL_VM_CACHE, else $XDG_CACHE_HOME/spiderpool-ts/vm, else /var/cache/spiderpool-ts/vm
# keyed by kernel version, so a run after the first one only checks and prints.
#
# Prints on stdout, one `key=value` a line: kver, kernel (ELF vmlinux), initrd, modules
# (the kernel's modules dir, with busybox depmod data). Progress goes to stderr.
# Needs root for apt-get (only when something is missing).
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cache=${SPIDERPOOL_VM_CACHE:-${XDG_CACHE_HOME:+$XDG_CACHE_HOME/spiderpool-ts/vm}}
cache=${cache:-/var/cache/spiderpool-ts/vm}
# What the initramfs needs to mount the root; their dependencies come from modules.dep.
initramfs_modules=(virtio_pci 9pnet_virtio 9p overlay)
# Debian's python3 (has lzma); a pyenv shim on PATH may not.
python=/usr/bin/python3

log() { echo "vm-prepare: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

ensure_packages() {
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	# The initramfs copies /bin/busybox, so it must be the static build.
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		need+=(busybox-static)
	command -v cpio >/dev/null || need+=(cpio)
	[[ -x $python ]] || need+=(python3)
	((${#need[@]})) || return 0
	log "installing ${need[*]}"
	# `apt-get update` only when the install fails without it (slow, and needs the network).
	apt_install "${need[@]}" || { apt-get update -q >&2 && apt_install "${need[@]}"; } ||
		die "cannot install ${need[*]}"
}

# Empty when apt has no lists yet (apt-cache then fails: not an error here).
kernel_package() {
	{ apt-cache depends linux-image-amd64 2>/dev/null || true; } |
		awk '/Depends: linux-image-/ && !found { print $2; found = 1 }'
}

newest_cached_kver() {
	local d
	# shellcheck disable=SC2045 # names are kernel versions, no odd characters
	for d in $(ls -1dt "$cache"/*/ 2>/dev/null); do
		[[ -f $d/.complete ]] && { basename "$d"; return 0; }
	done
	return 1
}

# The kernel package apt would install now. The answer only changes when apt's lists
# do, so it is remembered until they change (apt-cache takes ~1 s).
resolve_kver() {
	local stamp=$cache/resolved pkg=""
	if [[ -s $stamp && $stamp -nt /var/lib/apt/lists ]]; then
		pkg=$(<"$stamp")
	else
		pkg=$(kernel_package)
		if [[ -z $pkg ]]; then
			log "apt knows no linux-image-amd64; running apt-get update"
			apt-get update -q >&2 || true
			pkg=$(kernel_package)
		fi
		[[ -n $pkg ]] && { echo "$pkg" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"; }
	fi
	if [[ -n $pkg ]]; then
		echo "${pkg#linux-image-}"
	else
		log "warning: cannot resolve the kernel package; using the newest cached kernel"
		newest_cached_kver || die "no kernel package found by apt and none cached in $cache"
	fi
}

# Finds the XZ stream in a bzImage and writes the uncompressed ELF vmlinux: booting it by
# its PVH entry skips ~2.3 s of decompression under TCG.
extract_vmlinux() {
	"$python" - "$1" "$2" <<'EOF'
import lzma, sys
src, dst = sys.argv[1:3]
data = open(src, "rb").read()
off = data.find(b"\xfd7zXZ\x00")
while off != -1:
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[off:])
        if out[:4] == b"\x7fELF":
            open(dst, "wb").write(out)
            sys.exit(0)
    except lzma.LZMAError:
        pass
    off = data.find(b"\xfd7zXZ\x00", off + 1)
sys.exit(f"no XZ-compressed ELF vmlinux in {src}")
EOF
}

# Downloads and unpacks the kernel package (not installed: it is never the host's kernel).
ensure_kernel() {
	local kver=$1 kdir=$cache/$1 build
	[[ -f $kdir/.complete ]] && return 0
	log "preparing kernel $kver in $kdir"
	build=$(mktemp -d "$cache/.build.XXXXXX")
	cleanup_dirs+=("$build")
	chmod 0755 "$build"
	# Sandbox user root: apt's _apt user cannot write into a root-owned temp dir.
	if ! (cd "$build" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$kver" >&2); then
		return 1
	fi
	# `|| die`: errexit is off in a function called as an `if` condition.
	dpkg -x "$build"/linux-image-*.deb "$build/root" || die "dpkg -x failed"
	rm -f "$build"/linux-image-*.deb
	extract_vmlinux "$build/root/boot/vmlinuz-$kver" "$build/vmlinux" || die "no vmlinux"
	# The host has no kmod: busybox depmod writes the modules.dep busybox modprobe reads.
	busybox depmod -b "$build/root" "$kver" || die "busybox depmod failed"
	touch "$build/.complete"
	rm -rf "$kdir"
	mv "$build" "$kdir" || die "cannot move $build to $kdir"
}

# Copies the initramfs modules and their dependencies, in load order, into $2/modules.
stage_modules() {
	"$python" - "$1" "$2" "${initramfs_modules[@]}" <<'EOF'
import lzma, os, sys
moddir, stage, *wanted = sys.argv[1:]
def name(path):
    return os.path.basename(path).split(".ko")[0]
paths, deps = {}, {}
for line in open(os.path.join(moddir, "modules.dep")):
    if ":" in line:
        mod, rest = line.split(":", 1)
        paths[name(mod)] = mod
        deps[name(mod)] = [name(d) for d in rest.split()]
order = []
def visit(n):
    if n in order:
        return
    if n not in paths:
        sys.exit(f"module {n} is not in {moddir}/modules.dep")
    for d in deps[n]:
        visit(d)
    order.append(n)
for w in wanted:
    visit(w)
os.makedirs(os.path.join(stage, "modules"))
for n in order:
    src = os.path.join(moddir, paths[n])
    data = open(src, "rb").read()
    if src.endswith(".xz"):
        data = lzma.decompress(data)
    open(os.path.join(stage, "modules", n + ".ko"), "wb").write(data)
open(os.path.join(stage, "modules", "order"), "w").write("".join(n + "\n" for n in order))
EOF
}

# The initramfs is named by a hash of what goes into it, so editing initramfs-init.sh
# (or a busybox update) builds a new one. Sets $initrd (no subshell: the EXIT trap
# must see the staging dir).
ensure_initramfs() {
	local kver=$1 kdir=$cache/$1 hash out stage
	hash=$({ cat "$here/initramfs-init.sh"; echo "${initramfs_modules[*]}"; busybox | awk 'NR == 1'; } |
		sha256sum | cut -c 1-16)
	out=$kdir/initramfs-$hash.cpio.gz
	if [[ ! -f $out ]]; then
		log "building $out"
		stage=$(mktemp -d "$kdir/.initramfs.XXXXXX")
		cleanup_dirs+=("$stage")
		mkdir -p "$stage"/{bin,dev,proc,sys}
		cp /bin/busybox "$stage/bin/busybox"
		install -m 0755 "$here/initramfs-init.sh" "$stage/init"
		stage_modules "$kdir/root/lib/modules/$kver" "$stage"
		(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
			gzip -6 >"$out.tmp"
		mv "$out.tmp" "$out"
	fi
	initrd=$out
}

cleanup_dirs=()
trap 'rm -rf "${cleanup_dirs[@]}"' EXIT
trap 'log "error: line $LINENO: $BASH_COMMAND failed"' ERR

ensure_packages
mkdir -p "$cache"
# One preparer at a time (parallel CI jobs share the cache).
exec 9>"$cache/.lock"
flock 9
# Only the lock holder builds, so any build dir here is left by a killed preparer.
rm -rf "$cache"/.build.* "$cache"/*/.initramfs.*

kver=$(resolve_kver)
if ! ensure_kernel "$kver"; then
	fallback=$(newest_cached_kver) || die "cannot download linux-image-$kver"
	log "warning: cannot download linux-image-$kver; using cached $fallback"
	kver=$fallback
fi
ensure_initramfs "$kver"

echo "kver=$kver"
echo "kernel=$cache/$kver/vmlinux"
echo "initrd=$initrd"
echo "modules=$cache/$kver/root/lib/modules/$kver"
