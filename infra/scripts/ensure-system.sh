#!/usr/bin/env bash
# Makes this machine able to run fleettrace and its tests: Debian packages it lacks, and the
# kernel filesystems BPF tracing needs. Idempotent; every step is skipped when already done.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need_pkgs+=(clang)
have bpftool || need_pkgs+=(bpftool)
have bpftrace || need_pkgs+=(bpftrace)
have redis-server || need_pkgs+=(redis-server)
have sshd || [ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
[ -f /usr/include/bpf/libbpf.h ] || need_pkgs+=(libbpf-dev)
[ -f /usr/include/libelf.h ] || need_pkgs+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need_pkgs+=(zlib1g-dev)
[ -f /usr/include/x86_64-linux-gnu/sys/sdt.h ] || [ -f /usr/include/sys/sdt.h ] || need_pkgs+=(systemtap-sdt-dev)
have ping || need_pkgs+=(iputils-ping)
# SSH hosts whose login user is not root but may sudo without a password (the SSH e2e test)
have sudo || need_pkgs+=(sudo)
have nft || [ -x /usr/sbin/nft ] || need_pkgs+=(nftables)
have ip || [ -x /usr/sbin/ip ] || need_pkgs+=(iproute2)
have losetup || [ -x /usr/sbin/losetup ] || need_pkgs+=(mount)
# guest kernels in QEMU (infra/guest): emulator, initramfs tools, kernel-image unpacking
have qemu-system-x86_64 || need_pkgs+=(qemu-system-x86)
have busybox || need_pkgs+=(busybox-static)
have cpio || need_pkgs+=(cpio)
have xz || need_pkgs+=(xz-utils)
# the CLI's tests: a terminal to read its live view from (tmux), and zsh for its completion script
have tmux || need_pkgs+=(tmux)
have zsh || need_pkgs+=(zsh)
# The /metrics tests scrape with a real Prometheus and lint with promtool.
have promtool || need_pkgs+=(prometheus)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_pkgs+=(postgresql-15)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "ensure-system: installing ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# Debian's redis-server package starts a system instance; ours are project-local, so leave it be.

mounted() { grep -qs " $1 " /proc/mounts; }
if [ -d /sys/kernel/tracing ] && ! mounted /sys/kernel/tracing; then mount -t tracefs tracefs /sys/kernel/tracing; fi
if ! mounted /sys/kernel/debug; then mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true; fi
if ! mounted /sys/fs/bpf; then mount -t bpf bpf /sys/fs/bpf; fi
