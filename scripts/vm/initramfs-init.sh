#!/bin/busybox sh
# shellcheck shell=dash
# /init of the guest's initramfs (PID 1, busybox sh). prepare.sh copies it into the
# initramfs; editing it makes prepare.sh build a new one.
#
# It mounts the host's root (9p, read-only) under a tmpfs overlay, so the guest runs the
# host's own node/npm and may write anywhere without touching the host, mounts the
# read-write job directory at /run/vm/job, and hands over to stage 2 (guest-stage2.sh,
# copied into the job directory by run.sh), which needs the host's bash and tools.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

# Any failure powers off: QEMU then exits and run.sh shows this console's tail.
fail() {
	echo "vm-init: $*"
	poweroff -f
	sleep 60
}

mount -t proc proc /proc
mount -t sysfs sys /sys

# Modules the root mount needs, in dependency order (computed by prepare.sh).
while read -r m; do
	insmod "/modules/$m.ko" || fail "insmod $m failed"
done </modules/order

# msize: bigger 9p messages mean fewer round trips; cache=loose: the host's tree does not
# change under a test run, so the guest may cache it.
p9='trans=virtio,version=9p2000.L,msize=512000'
mkdir -p /lower /rw /newroot
mount -t 9p -o "$p9,ro,cache=loose" hostroot /lower || fail "mount hostroot failed"
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "mount overlay failed"

mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mkdir -p /newroot/run/vm/job
# No cache on the job share: results must reach the host before poweroff.
mount -t 9p -o "$p9" job /newroot/run/vm/job || fail "mount job failed"
[ -f /newroot/run/vm/job/stage2.sh ] || fail "no stage2.sh in the job directory"

for d in proc sys dev; do
	mount --move "/$d" "/newroot/$d"
done
# shellcheck disable=SC2093 # reached only if switch_root fails
exec switch_root /newroot /bin/bash /run/vm/job/stage2.sh
fail "switch_root failed"
