#!/usr/bin/env bash
# Prepares a guest kernel for runInGuest (infra/guest/run-in-guest.ts): Debian's current bookworm
# kernel image (the package linux-image-amd64 depends on), downloaded and unpacked but never
# installed, its uncompressed vmlinux (QEMU boots it directly through PVH: ~2 s instead of ~4 s),
# and a small initramfs: busybox-static, the 9p/virtio modules of that kernel, and init.sh.
#
# Idempotent and cached under <repo>/.fleettrace/guest/<package>/; the initramfs is rebuilt when
# init.sh or this script changes. Prints the path of the prepared guest.json on stdout.
#
# Exit status 3: no guest kernel can be had here (tools missing, apt cannot resolve or download the
# package, nothing cached); any other failure is a bug.
#
# Environment: FLEETTRACE_GUEST_KERNEL_PACKAGE pins the package (default: what linux-image-amd64
# depends on; when apt cannot say, the newest one already prepared).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$repo/.fleettrace/guest"
mkdir -p "$cache"

# Modules the initramfs loads, in dependency order (no modules.dep in the unpacked package): 9p
# for the host's root and the output share, virtio_net for a guest reached over SSH (ssh-guest.ts).
modules=(netfs fscache 9pnet virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet_virtio 9p failover net_failover virtio_net)

log() { echo "guest-prepare: $*" >&2; }
die() { log "$*"; exit 1; }
unavailable() { log "$*"; exit 3; }

for tool in apt-get apt-cache dpkg xz cpio gzip busybox readelf; do
  command -v "$tool" >/dev/null || unavailable "$tool is missing: run infra/scripts/ensure-system.sh"
done

exec 9>"$cache/.lock"
flock 9

pkg=${FLEETTRACE_GUEST_KERNEL_PACKAGE:-}
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }') || true
fi
if [ -z "$pkg" ]; then
  pkg=$(cd "$cache" && ls -d linux-image-*/ 2>/dev/null | sed 's:/$::' | sort -V | tail -n1) || true
  [ -n "$pkg" ] || unavailable "apt-cache cannot resolve linux-image-amd64 and nothing is cached (no bookworm apt sources?)"
  log "apt-cache cannot resolve linux-image-amd64; using cached $pkg"
fi
dir="$cache/$pkg"
mkdir -p "$dir"

# 1. Kernel: vmlinux, config and the modules the initramfs needs, from the unpacked package (again
# when a cache prepared by an older version of this script lacks a module now in the list).
missing_module=
for m in "${modules[@]}"; do [ -s "$dir/modules/$m.ko" ] || missing_module=$m; done
if [ ! -s "$dir/vmlinux" ] || [ ! -s "$dir/config" ] || [ -n "$missing_module" ]; then
  work="$dir/work"
  rm -rf "$work" && mkdir -p "$work"
  log "downloading $pkg"
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) \
    || { apt-get update -qq >&2 && (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); } \
    || unavailable "cannot download $pkg"
  log "unpacking $pkg"
  dpkg -x "$work"/*.deb "$work/root"
  release=$(ls "$work/root/lib/modules")
  vmlinuz="$work/root/boot/vmlinuz-$release"
  # The bzImage carries the kernel as one xz stream: cut at its magic (FD 37 7A 58 5A 00).
  offset=$(grep -obUaP '\xFD\x37\x7A\x58\x5A\x00' "$vmlinuz" | awk -F: 'NR == 1 { print $1 }')
  [ -n "$offset" ] || die "no xz payload in $vmlinuz"
  # (xz stops reading at the end of its stream: not a pipe, whose writer would die of SIGPIPE)
  tail -c +$((offset + 1)) "$vmlinuz" > "$work/payload.xz"
  xz -dc --single-stream "$work/payload.xz" > "$work/vmlinux"
  [ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || die "the xz payload of $vmlinuz is not an ELF vmlinux"
  mkdir -p "$work/modules"
  for m in "${modules[@]}"; do
    ko=$(find "$work/root/lib/modules/$release" -name "$m.ko" -print -quit)
    [ -n "$ko" ] || die "module $m.ko not found in $pkg"
    cp "$ko" "$work/modules/"
  done
  cp "$work/root/boot/config-$release" "$work/config"
  echo "$release" > "$work/release"
  rm -rf "$dir/modules"
  mv "$work/modules" "$dir/modules"
  mv "$work/config" "$work/release" "$dir/"
  mv "$work/vmlinux" "$dir/vmlinux"
  rm -rf "$work"
fi
release=$(cat "$dir/release")

# 2. Initramfs: rebuilt whenever init.sh, this script or the busybox binary changes.
busybox=$(command -v busybox)
LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q INTERP && die "$busybox is dynamically linked: install busybox-static"
stamp=$(cat "$here/init.sh" "$0" "$busybox" | sha256sum | cut -c1-16)
if [ ! -s "$dir/initrd.gz" ] || [ "$(cat "$dir/initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the initramfs"
  tree="$dir/initrd.tree"
  rm -rf "$tree" && mkdir -p "$tree"/{bin,dev,proc,sys,modules}
  cp "$busybox" "$tree/bin/busybox"
  cp "$here/init.sh" "$tree/init" && chmod 755 "$tree/init"
  cp "$dir/modules"/*.ko "$tree/modules/"
  printf '%s\n' "${modules[@]}" > "$tree/modules/order"
  (cd "$tree" && find . -print0 | cpio --null -o -H newc --quiet | gzip -9) > "$dir/initrd.gz.tmp"
  mv "$dir/initrd.gz.tmp" "$dir/initrd.gz"
  rm -rf "$tree"
  echo "$stamp" > "$dir/initrd.stamp"
fi

# 3. What runInGuest needs to know, including the kernel's built-in LSM order (CONFIG_LSM): BPF
# LSM programs only run when "bpf" is in the active list.
lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$dir/config")
cat > "$dir/guest.json.tmp" <<EOF
{
  "package": "$pkg",
  "release": "$release",
  "vmlinux": "$dir/vmlinux",
  "initrd": "$dir/initrd.gz",
  "config": "$dir/config",
  "defaultLsm": "$lsm"
}
EOF
mv "$dir/guest.json.tmp" "$dir/guest.json"
echo "$dir/guest.json"
