#!/bin/bash
# Stage 2 inside the guest, PID 1 after switch_root, run by the host's own bash from the
# read-only root. run.sh copies it into the job directory with:
#   config  VM_MODULES (the kernel's modules dir on the host root), VM_PROJECT (shared
#           read-write at the same path), VM_CWD, VM_CMD (array), VM_LOAD_MODULES
#   env     `export NAME=value` lines: the caller's environment to restore
# It writes stdout, stderr (appending: the host tails them live), started, rc, and with
# VM_VERBOSE=1 trace.
# Not `set -e`: PID 1 must never exit early (that panics the guest); errors are handled.
set -u
job=/run/vm/job
# Setup uses busybox's applets: under TCG a static busybox starts in ~0.03 s, a dynamically
# linked tool in ~0.15 s. The command gets the caller's PATH back.
/bin/busybox mkdir -p /run/vm/bin
/bin/busybox --install -s /run/vm/bin
export PATH=/run/vm/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "vm-stage2: $*" >/dev/console; }
# With --verbose, guest uptime at each step goes to the job's trace file.
mark() { [ "${VM_VERBOSE:-0}" = 1 ] && echo "$(cut -d' ' -f1 /proc/uptime) $*" >>"$job/trace"; }
power_off() {
	sync
	# Unmount the project share so every cached write has reached the host.
	[ -n "${VM_PROJECT:-}" ] && umount "$VM_PROJECT" 2>/dev/null
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 60
}
setup_failed() {
	say "$*"
	echo "vm: guest setup failed: $*" >>"$job/stderr"
	: >"$job/setup_failed"
	power_off
}

# shellcheck source=/dev/null
. "$job/config" || setup_failed "cannot read $job/config"
mark "stage 2 started"

mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev shm /dev/shm

mark "devpts, shm mounted"
# The host has no kmod; busybox's modprobe reads the modules.dep that prepare.sh built.
kver=$(uname -r)
mkdir -p "/lib/modules/$kver"
mount --bind "$VM_MODULES" "/lib/modules/$kver" || setup_failed "cannot bind $VM_MODULES"
# For the kernel's on-demand loading (e.g. `ip link add type ipvlan`), and for the command.
echo /run/vm/bin/modprobe >/proc/sys/kernel/modprobe
if ! PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v modprobe >/dev/null; then
	ln -s /bin/busybox /usr/sbin/modprobe # in the tmpfs overlay, not on the host
fi
mkdir -p /etc/modprobe.d
# Otherwise dummy makes a dummy0, which a test may want to create itself.
echo "options dummy numdummies=0" >/etc/modprobe.d/spiderpool-vm.conf
# One modprobe for all: each process start costs a lot under TCG.
# shellcheck disable=SC2086 # a list of names
modprobe -a $VM_LOAD_MODULES || setup_failed "modprobe $VM_LOAD_MODULES failed"
ip link set lo up || setup_failed "cannot set lo up"
mark "modules loaded, lo up"

# The project checkout, read-write, over the read-only root at the same path.
if [ -n "$VM_PROJECT" ]; then
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose project "$VM_PROJECT" ||
		setup_failed "cannot mount the project share at $VM_PROJECT"
fi

mark "project mounted"
cat /proc/uptime >"$job/started"
(
	cd "$VM_CWD" || exit 126
	# shellcheck source=/dev/null
	. "$job/env"
	exec "${VM_CMD[@]}"
) </dev/null >>"$job/stdout" 2>>"$job/stderr"
echo "$?" >"$job/rc"
mark "command ended"
power_off
