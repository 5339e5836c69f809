#!/usr/bin/env bash
# Runs one command inside a QEMU guest booting a stock Debian kernel, for tests that need
# kernel features the host lacks (ipvlan). Boot once per test run: pass the whole test
# command, not one test.
#
#   scripts/vm/run.sh [--timeout SECONDS] [--mem SIZE] [--smp N] [--env NAME]... [--verbose] \
#       -- COMMAND [ARGS...]
#
# The guest sees the host's root read-only under a tmpfs overlay (writes vanish at exit),
# except this project's checkout, which is shared read-write at the same path. COMMAND runs
# as root in the current directory, with PATH, HOME, USER, LANG, LC_*, TZ, TERM, CI,
# NO_COLOR, FORCE_COLOR, NODE_OPTIONS, NODE_ENV, SPIDERPOOL_*, VITEST* and each --env NAME
# copied from the caller; modules ipvlan, dummy, veth, 8021q, macvlan loaded; lo up; no
# other network. Its stdout and stderr stream to ours; we exit with its exit code, or 124
# if the timeout killed the guest, or 125 if the guest failed before or around COMMAND.
#
# Defaults come from SPIDERPOOL_VM_TIMEOUT (1200), SPIDERPOOL_VM_MEM (2G), SPIDERPOOL_VM_SMP (2);
# SPIDERPOOL_VM_VERBOSE=1 is --verbose (timings); SPIDERPOOL_VM_APPEND adds kernel arguments;
# SPIDERPOOL_VM_KEEP=1 keeps the temp dir (console.log) for debugging.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)

timeout=${SPIDERPOOL_VM_TIMEOUT:-1200}
mem=${SPIDERPOOL_VM_MEM:-2G}
smp=${SPIDERPOOL_VM_SMP:-2}
verbose=${SPIDERPOOL_VM_VERBOSE:-0}
load_modules="ipvlan dummy veth 8021q macvlan"
extra_env=()

usage() {
	echo "usage: scripts/vm/run.sh [--timeout SECONDS] [--mem SIZE] [--smp N] [--env NAME]..." \
		"[--verbose] -- COMMAND [ARGS...]" >&2
	exit 2
}
while (($#)); do
	case $1 in
	--timeout) timeout=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--env) extra_env+=("${2:?}"); shift 2 ;;
	--verbose) verbose=1; shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
(($#)) || usage
[[ $timeout =~ ^[0-9]+$ ]] || usage

log() { echo "vm: $*" >&2; }
now() { date +%s.%N; }
t0=$(now)

declare -A prepared
while IFS='=' read -r key value; do
	prepared[$key]=$value
done < <(bash "$here/prepare.sh")
[[ -n ${prepared[initrd]:-} ]] || { log "prepare.sh failed (see its messages above)"; exit 125; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spiderpool-vm.XXXXXX")
job=$tmp/job # shared with the guest; console.log and qemu.pid stay host-only
mkdir "$job"
qemu_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	# Never leave QEMU behind, whatever ended us.
	if [[ -n $qemu_pid ]]; then
		kill -TERM "$qemu_pid" 2>/dev/null || true
	fi
	local pid
	pid=$(cat "$tmp/qemu.pid" 2>/dev/null || true)
	if [[ -n $pid ]] && grep -q qemu "/proc/$pid/comm" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [[ ${SPIDERPOOL_VM_KEEP:-0} == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The guest reads these with the host's bash: %q quoting survives any value.
{
	printf 'VM_MODULES=%q\n' "${prepared[modules]}"
	printf 'VM_PROJECT=%q\n' "$project"
	printf 'VM_CWD=%q\n' "$PWD"
	printf 'VM_LOAD_MODULES=%q\n' "$load_modules"
	printf 'VM_VERBOSE=%q\n' "$verbose"
	printf 'VM_CMD=('
	printf '%q ' "$@"
	printf ')\n'
} >"$job/config"
passes() {
	case $1 in
	PATH | HOME | USER | LANG | LC_* | TZ | TERM | CI | NO_COLOR | FORCE_COLOR) return 0 ;;
	NODE_OPTIONS | NODE_ENV | SPIDERPOOL_* | VITEST*) return 0 ;;
	esac
	local name
	for name in "${extra_env[@]}"; do [[ $1 == "$name" ]] && return 0; done
	return 1
}
while read -r name; do
	if passes "$name"; then printf 'export %s=%q\n' "$name" "${!name}"; fi
done < <(compgen -e) >"$job/env"
cp "$here/guest-stage2.sh" "$job/stage2.sh"
: >"$job/stdout"
: >"$job/stderr"

# QEMU option values escape a comma by doubling it.
q() { printf '%s' "${1//,/,,}"; }
p9=security_model=none,multidevs=remap
# panic=-1 + -no-reboot: a panicking guest ends QEMU at once instead of hanging.
cmdline="console=ttyS0 quiet loglevel=1 panic=-1 reboot=t mitigations=off cryptomgr.notests"
cmdline+=" random.trust_cpu=on 8250.nr_uarts=1 no_timer_check ${SPIDERPOOL_VM_APPEND:-}"
# shellcheck disable=SC2054 # commas are inside QEMU option values
qemu=(
	qemu-system-x86_64
	# KVM here is a PVM hypervisor that cannot run a stock kernel: emulate.
	-accel tcg,thread=multi -cpu "${SPIDERPOOL_VM_CPU:-max}" -smp "$smp" -m "$mem" -M q35
	-nodefaults -no-user-config -display none -no-reboot -monitor none
	-serial "file:$(q "$tmp/console.log")" -pidfile "$(q "$tmp/qemu.pid")"
	# The ELF vmlinux boots by its PVH entry, skipping the bzImage decompressor.
	-kernel "$(q "${prepared[kernel]}")" -initrd "$(q "${prepared[initrd]}")"
	-append "$cmdline"
	-fsdev "local,id=hostroot,path=/,readonly=on,$p9"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=job,path=$(q "$job"),$p9"
	-device virtio-9p-pci,fsdev=job,mount_tag=job
	-fsdev "local,id=project,path=$(q "$project"),$p9"
	-device virtio-9p-pci,fsdev=project,mount_tag=project
)
# `timeout` bounds a hung or panicked guest; it forwards our TERM to QEMU.
timeout --kill-after=10 "$timeout" "${qemu[@]}" </dev/null &
qemu_pid=$!
t_qemu=$(now)
# The guest appends to files on the job share; tail them live until QEMU is gone.
tail -n +1 -f --pid="$qemu_pid" "$job/stdout" &
tail -n +1 -f --pid="$qemu_pid" "$job/stderr" >&2 &
set +e
wait "$qemu_pid"
qemu_rc=$?
set -e
qemu_pid=""
wait # for the tails to print what is left
t_end=$(now)

if ((verbose)) || [[ ! -f $job/rc ]]; then
	boot=$(awk -v a="$t_qemu" -v m="$(stat -c %.9Y "$job/started" 2>/dev/null || echo 0)" \
		'BEGIN { if (m > 0) printf "%.1f s", m - a; else print "-" }')
	log "kernel ${prepared[kver]}; prepare $(awk -v a="$t0" -v b="$t_qemu" 'BEGIN{printf "%.1f", b-a}') s," \
		"boot to command $boot, total $(awk -v a="$t0" -v b="$t_end" 'BEGIN{printf "%.1f", b-a}') s"
	if [[ -f $job/trace ]]; then sed 's/^/vm: guest uptime /' "$job/trace" >&2; fi
fi
if [[ -f $job/rc ]]; then
	exit "$(<"$job/rc")"
fi
if ((qemu_rc == 124)); then
	log "timed out after ${timeout} s; QEMU killed"
elif [[ -f $job/setup_failed ]]; then
	log "guest setup failed"
else
	log "guest stopped without an exit code (QEMU exit $qemu_rc)"
fi
log "console tail:"
tail -n 40 "$tmp/console.log" >&2 || true
((qemu_rc == 124)) && exit 124
exit 125
