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
# What every object depends on besides its own directory: the shared headers, this host's
# vmlinux.h, libbpf's headers, this script and the compilers. Each kernel test file runs this
# script so that no test runs a stale object; an object whose inputs hash as before is kept (each
# full rebuild cost ~12 s of CI per test file).
shared_inputs=$( { cat "$here"/src/common/* "$build/vmlinux.h" "/usr/include/bpf/"*.h "$0"; "$clang" --version; bpftool version; } | sha256sum)
built=0
kept=0
for source in "$here"/src/*/*.bpf.c; do
  name=$(basename "$source" .bpf.c)
  # Only src/<name>/<name>.bpf.c is a program; other .bpf.c files would be helpers of one.
  [ "$(basename "$(dirname "$source")")" = "$name" ] || continue
  out="$build/$name.bpf.o"
  inputs=$( { echo "$shared_inputs"; cat "$(dirname "$source")"/*.c "$(dirname "$source")"/*.h 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
  if [ -f "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null)" = "$inputs" ]; then
    kept=$((kept + 1))
    continue
  fi
  rm -f "$out.inputs"
  "$clang" -O2 -g -Wall -Werror -target bpf "-D__TARGET_ARCH_$target_arch" \
    -I"$build" -I"$here/src" -I"/usr/include/$multiarch" \
    -c "$source" -o "$out.dwarf.tmp"
  bpftool gen object "$out.tmp" "$out.dwarf.tmp"
  rm -f "$out.dwarf.tmp"
  mv "$out.tmp" "$out"
  echo "$inputs" > "$out.inputs.tmp"
  mv "$out.inputs.tmp" "$out.inputs"
  built=$((built + 1))
done
echo "build-bpf: $built programs built, $kept unchanged, in $build"
