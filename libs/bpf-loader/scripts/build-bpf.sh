#!/usr/bin/env bash
# Builds the BPF objects the loader itself ships (not test fixtures): the capability probe's
# programs. CO-RE against this host's vmlinux.h. Runs after node-gyp, whose `rebuild` empties build/.
set -euo pipefail
pkg=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$pkg/../.." && pwd)
out="$pkg/build"
mkdir -p "$out/bpf"
bash "$repo/infra/scripts/gen-vmlinux.sh" "$out/vmlinux.h"
for src in "$pkg"/bpf/*.bpf.c; do
  clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -I"$out" \
    -c "$src" -o "$out/bpf/$(basename "$src" .c).o"
done
