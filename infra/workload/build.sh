#!/usr/bin/env bash
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/../build"
cc -O2 -Wall -Werror -o "$here/../build/workload" "$here/workload.c"
