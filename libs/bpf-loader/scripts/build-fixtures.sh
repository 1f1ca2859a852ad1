#!/usr/bin/env bash
# Builds what the tests and the bench run besides the addon: BPF fixture objects (CO-RE, against
# this host's vmlinux.h), the gate helper and the C reference ring-buffer consumer.
# Runs after node-gyp, whose `rebuild` empties build/.
set -euo pipefail
pkg=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$pkg/../.." && pwd)
out="$pkg/build"
mkdir -p "$out/fixtures"

bash "$repo/infra/scripts/gen-vmlinux.sh" "$out/vmlinux.h"
# The loader's own BPF objects too: node-gyp rebuild empties build/, and fixtures are always
# rebuilt after it.
bash "$pkg/scripts/build-bpf.sh"

for src in "$pkg"/test/fixtures/*.bpf.c; do
  name=$(basename "$src" .c)
  clang -O2 -g -target bpf -D__TARGET_ARCH_x86 \
    -I/usr/include/x86_64-linux-gnu -I"$out" -I"$pkg/test/fixtures" \
    -c "$src" -o "$out/fixtures/$name.o"
done

cc -O2 -Wall -Werror -o "$out/gate" "$pkg/test/support/gate.c"
# uprobe / USDT target (sys/sdt.h: Debian's systemtap-sdt-dev)
cc -O2 -g -Wall -Werror -o "$out/probe-target" "$pkg/test/support/probe-target.c"
cc -O2 -Wall -Werror -I"$pkg/test/fixtures" -o "$out/ref-consumer" "$pkg/bench/ref-consumer.c" -lbpf -lelf -lz
cc -g -O0 -fno-omit-frame-pointer -Wall -Werror -o "$out/stack-chain" "$pkg/test/fixtures/stack_chain.c"
