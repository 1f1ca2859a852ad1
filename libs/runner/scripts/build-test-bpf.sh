#!/usr/bin/env bash
# Compiles the daemon's test-only BPF programs (test/fixtures/*.bpf.c) into build/test-fixtures/.
# They never enter the catalog: only the tests' runner entry (test/support/test-runner.ts) knows them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/../.." && pwd)
out="$here/build/test-fixtures"
mkdir -p "$out"
bash "$repo/infra/scripts/gen-vmlinux.sh" "$here/build/vmlinux.h"
case "$(uname -m)" in
  x86_64) target_arch=x86 multiarch=x86_64-linux-gnu ;;
  aarch64) target_arch=arm64 multiarch=aarch64-linux-gnu ;;
  *) echo "build-test-bpf: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
for src in "$here"/test/fixtures/*.bpf.c; do
  name=$(basename "$src" .bpf.c)
  "${CLANG:-clang}" -O2 -g -Wall -Werror -target bpf "-D__TARGET_ARCH_$target_arch" \
    -I"$here/build" -I"$repo/libs/programs/src" -I"/usr/include/$multiarch" \
    -c "$src" -o "$out/$name.bpf.o.tmp"
  mv "$out/$name.bpf.o.tmp" "$out/$name.bpf.o"
done
