#!/usr/bin/env bash
# Compiles every catalog program src/<name>/<name>.bpf.c into build/<name>.bpf.o: CO-RE objects
# (-g keeps the BTF that relocations and record layouts need), against this host's vmlinux.h.
# `bpftool gen object` then links each one alone, which keeps BTF and BTF.ext (verifier line info)
# but drops clang's DWARF: ~95 % of the file, and parsing and hashing it was most of opening one.
# The objects are portable across kernels with BTF; only vmlinux.h is per-kernel and is cached.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
mkdir -p "$build"
bash "$here/../../infra/scripts/gen-vmlinux.sh" "$build/vmlinux.h"

case "$(uname -m)" in
  x86_64) target_arch=x86 multiarch=x86_64-linux-gnu ;;
  aarch64) target_arch=arm64 multiarch=aarch64-linux-gnu ;;
  *) echo "build-bpf: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

clang=${CLANG:-clang}
built=0
for source in "$here"/src/*/*.bpf.c; do
  name=$(basename "$source" .bpf.c)
  # Only src/<name>/<name>.bpf.c is a program; other .bpf.c files would be helpers of one.
  [ "$(basename "$(dirname "$source")")" = "$name" ] || continue
  out="$build/$name.bpf.o"
  "$clang" -O2 -g -Wall -Werror -target bpf "-D__TARGET_ARCH_$target_arch" \
    -I"$build" -I"$here/src" -I"/usr/include/$multiarch" \
    -c "$source" -o "$out.dwarf.tmp"
  bpftool gen object "$out.tmp" "$out.dwarf.tmp"
  rm -f "$out.dwarf.tmp"
  mv "$out.tmp" "$out"
  built=$((built + 1))
done
echo "build-bpf: $built programs in $build"
