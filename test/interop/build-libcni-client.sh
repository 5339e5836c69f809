#!/usr/bin/env bash
# Builds the libcni interop client (test/interop/libcni-client) into
# .cache/libcni-client/cniclient, offline: GOPATH mode against Debian's libcni
# source (golang-github-appc-cni-dev, /usr/share/gocode) with Debian's golang-go.
# No module proxy is used. Idempotent: does nothing when the binary is newer
# than its sources. Prints the binary's path on stdout.
#
#   bash test/interop/build-libcni-client.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)
src=$here/libcni-client
out_dir=$project/.cache/libcni-client
bin=$out_dir/cniclient
gocode=${SPIDERPOOL_GOCODE:-/usr/share/gocode}

force=0
[[ ${1:-} == --force ]] && force=1

if ((!force)) && [[ -x $bin && $bin -nt $src/main.go && $bin -nt ${BASH_SOURCE[0]} ]]; then
	echo "$bin"
	exit 0
fi

command -v go >/dev/null || {
	echo "build-libcni-client: no 'go' (apt-get install -y golang-go)" >&2
	exit 1
}
[[ -d $gocode/src/github.com/containernetworking/cni/libcni ]] || {
	echo "build-libcni-client: no libcni source under $gocode (apt-get install -y golang-github-appc-cni-dev)" >&2
	exit 1
}

mkdir -p "$out_dir/gopath" "$out_dir/go-build"
tmp=$(mktemp "$out_dir/cniclient.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# GOFLAGS/GOPROXY: nothing may reach for the network; the build cache stays in .cache.
(
	cd "$src"
	env GO111MODULE=off GOPATH="$out_dir/gopath:$gocode" GOCACHE="$out_dir/go-build" \
		GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
		go build -trimpath -o "$tmp" .
)
chmod 755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "$bin"
