// Artifacts of this package's build (scripts/build-fixtures.sh) that tests and benches run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const buildDir = fileURLToPath(new URL('../../build/', import.meta.url));

function built(relative: string): string {
  const path = buildDir + relative;
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`npm run build -w @fleettrace/bpf-loader\``);
  }
  return path;
}

/** A compiled test fixture: test/fixtures/<name>.bpf.c → build/fixtures/<name>.bpf.o */
export function fixturePath(name: string): string {
  return built(`fixtures/${name}.bpf.o`);
}

export function gatePath(): string {
  return built('gate');
}

export function refConsumerPath(): string {
  return built('ref-consumer');
}

/** test/support/probe-target.c: calls ft_probe_target (USDT fleettrace:tick inside) or libc realpath N times. */
export function probeTargetPath(): string {
  return built('probe-target');
}

/**
 * test/fixtures/stack_chain.c, a PIE with frame pointers: main → level_one → level_two → busy_leaf,
 * which issues getppid() itself for argv[1] seconds; its process name is "stack-chain".
 */
export function stackChainPath(): string {
  return built('stack-chain');
}
