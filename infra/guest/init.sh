#!/bin/busybox sh
# /init of the guest initramfs (built by prepare.sh). Mounts the host's root read-only and the
# run's output directory read-write over 9p, gives the host root this kernel's proc/sys/dev and
# BPF filesystems, runs the command the host wrote (command.sh) chrooted into the host root, and
# records its exit code and output in the output share. Then it powers the machine off, whatever
# happened: QEMU (-no-reboot) exits, which is how the host knows the run is over.
/bin/busybox --install -s /bin
export PATH=/bin
say() { echo "guest-init: $*" > /dev/console; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
finish() {
  sync
  poweroff -f
  reboot -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "kernel up at $(uptime_s) s"

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" 2>/dev/null || say "insmod $m failed"
done

# A network card only when QEMU was given one (ssh-guest.ts: user networking, restrict=on, one hostfwd
# to port 22): QEMU's user network hands the guest 10.0.2.15; nothing routes anywhere else.
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || say "cannot configure eth0"
fi

mkdir -p /host /out
# msize: 9p reads the host's node binary and node_modules in chunks of this size (6.1 defaults to 8 KiB).
# cache=loose on the read-only root lets the guest keep what it read; nothing changes it during a run.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host || { say "cannot mount the host root"; finish; }
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=262144 out /out || { say "cannot mount the output share"; finish; }

mount -o bind /proc /host/proc
mount -o bind /sys /host/sys
mount -o bind /dev /host/dev
mount -t devpts devpts /host/dev/pts 2>/dev/null
mount -t tmpfs tmpfs /host/dev/shm 2>/dev/null
# The guest needs a writable /tmp, but the command's checkout may live under the host's /tmp (CI's
# clone can): fleettrace.keeptmp=<entry> binds that one host entry back, read-only like the host root.
mkdir -p /hosttmp
mount -o bind /host/tmp /hosttmp
mount -t tmpfs tmpfs /host/tmp
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    fleettrace.keeptmp=*)
      keep="${arg#fleettrace.keeptmp=}"
      mkdir -p "/host/tmp/$keep" && mount -o bind "/hosttmp/$keep" "/host/tmp/$keep"
      ;;
  esac
done
mount -t tmpfs tmpfs /host/run
mount -t bpf bpf /host/sys/fs/bpf
mount -t tracefs tracefs /host/sys/kernel/tracing
mount -t debugfs debugfs /host/sys/kernel/debug
mkdir -p /host/tmp/guest-out
mount -o bind /out /host/tmp/guest-out

# fleettrace.timeout=<s> on the kernel command line: the guest ends the command itself, so a lost
# host (killed test runner) never leaves a guest running for long.
timeout_s=0
for arg in $(cat /proc/cmdline); do
  case "$arg" in fleettrace.timeout=*) timeout_s="${arg#fleettrace.timeout=}" ;; esac
done

uptime_s > /out/ready-uptime
say "ready at $(uptime_s) s"
if [ "$timeout_s" -gt 0 ]; then
  timeout -s KILL "$timeout_s" chroot /host /bin/sh /tmp/guest-out/command.sh > /out/stdout 2> /out/stderr
else
  chroot /host /bin/sh /tmp/guest-out/command.sh > /out/stdout 2> /out/stderr
fi
code=$?
# fleettrace.systemd-unit=<unit> (ssh-guest.ts): the command only set the guest up (its mounts, and the
# units it wrote into /run/systemd/system); then this machine's systemd becomes PID 1 of the same root,
# a host as the SSH gateway's bootstrap expects (systemctl, its hardened unit); exec keeps PID 1. The
# unit goes on systemd's command line: this root may look like a container's to it (/.dockerenv), and
# in a container systemd does not read the kernel's.
unit=
for arg in $(cat /proc/cmdline); do
  case "$arg" in fleettrace.systemd-unit=*) unit="${arg#fleettrace.systemd-unit=}" ;; esac
done
if [ -n "$unit" ] && [ "$code" = 0 ]; then
  say "setup done at $(uptime_s) s; starting systemd with $unit"
  exec chroot /host /lib/systemd/systemd --unit="$unit" --show-status=yes
fi
uptime_s > /out/done-uptime
echo "$code" > /out/exit-code.tmp && mv /out/exit-code.tmp /out/exit-code
say "command exited $code at $(uptime_s) s"
finish
