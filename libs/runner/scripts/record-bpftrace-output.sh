#!/usr/bin/env bash
# Records what the host's bpftrace prints for each case in src/testdata/bpftrace-<version>/, with -f json
# and without, for bpftrace-output.spec.ts. Needs root. bpftrace's RLIMIT_MEMLOCK notice goes to stderr.
set -euo pipefail
version=$(bpftrace --version | sed -E 's/^bpftrace v([0-9]+\.[0-9]+).*/\1/')
dir="$(cd "$(dirname "$0")/.." && pwd)/src/testdata/bpftrace-$version"
for script in "$dir"/*.bt; do
  case=${script%.bt}
  bpftrace -f json "$script" > "$case.json" 2>/dev/null
  bpftrace "$script" > "$case.txt" 2>/dev/null
done
echo "recorded $(ls "$dir"/*.bt | wc -l) cases in $dir"
