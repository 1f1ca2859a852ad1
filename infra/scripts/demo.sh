#!/usr/bin/env bash
# The newcomer's first command: installs what is missing, builds, brings up a local 2-host stack,
# runs a real 5-second execsnoop + runqlat fleet trace with workload in each host, prints the
# merged and per-host answers, and tears everything down again.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash infra/scripts/ensure-system.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

trap 'npx tsx infra/stack/cli.ts down >/dev/null' EXIT
npx tsx infra/stack/cli.ts up --hosts 2
npx tsx infra/demo/demo.ts
