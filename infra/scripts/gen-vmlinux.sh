#!/usr/bin/env bash
# Writes vmlinux.h for CO-RE programs from this host's BTF; regenerated only when the kernel changes.
set -euo pipefail
out=${1:?usage: gen-vmlinux.sh OUT_FILE}
btf=/sys/kernel/btf/vmlinux
stamp="$out.kernel"
if [ -s "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(uname -r)" ]; then exit 0; fi
mkdir -p "$(dirname "$out")"
[ -r "$btf" ] || { echo "gen-vmlinux: $btf is missing: this kernel has no BTF" >&2; exit 1; }
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
uname -r > "$stamp"
