// Test-only programs, shaped like catalog entries so the real runner code runs them. They are never
// in the catalog: only the test runner entry (test-runner.ts) resolves them.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { CatalogProgram } from '@fleettrace/programs';

const fixture = (name: string): string => fileURLToPath(new URL(`../../build/test-fixtures/${name}.bpf.o`, import.meta.url));
const cgroupGlobal = (cgroupId: bigint | null) => ({ test_cgroup_id: { type: 'u64' as const, value: cgroupId ?? 0n } });

/** Spins a bounded bpf_loop per getppid() of the test's cgroup: far over a 2 % budget under a getppid loop. */
export const overheadBurner: CatalogProgram<{ spinLoops: number }> = {
  name: 'test_overhead_burner',
  summary: 'test only: expensive per-event program',
  params: z.strictObject({ spinLoops: z.number().int().min(0).max(1 << 23).default(20_000) }),
  objectPath: fixture('overhead_burner'),
  globals: (p, filter) => ({ ...cgroupGlobal(filter.cgroupId), spin_loops: { type: 'u32', value: p.spinLoops } }),
  outputs: [],
  requires: { attachTypes: ['tracepoint'] },
};

/** One event per getppid() of the test's cgroup, through the kernel-side events-per-second cap. */
export const rateEvents: CatalogProgram<Record<string, never>> = {
  name: 'test_rate_events',
  summary: 'test only: one event per getppid',
  params: z.strictObject({}),
  objectPath: fixture('rate_events'),
  globals: (_p, filter) => cgroupGlobal(filter.cgroupId),
  outputs: [
    {
      kind: 'events',
      name: 'getppid',
      ringBuffer: 'events',
      layout: {
        size: 16,
        fields: [
          { name: 'time_ns', offset: 0, type: 'u64' },
          { name: 'pid', offset: 8, type: 'u32' },
        ],
      },
      timeField: 'time_ns',
    },
  ],
  requires: { attachTypes: ['tracepoint'] },
};

export const TEST_PROGRAMS: Readonly<Record<string, CatalogProgram>> = {
  [overheadBurner.name]: overheadBurner as unknown as CatalogProgram,
  [rateEvents.name]: rateEvents as unknown as CatalogProgram,
};

/** Compiles the fixtures when they are missing (npm run build does it too). */
export function ensureTestPrograms(): void {
  if (Object.values(TEST_PROGRAMS).every((p) => existsSync(p.objectPath))) return;
  execFileSync('bash', [fileURLToPath(new URL('../../scripts/build-test-bpf.sh', import.meta.url))], { stdio: 'inherit' });
}

export const TEST_RUNNER_MAIN = fileURLToPath(new URL('./test-runner.ts', import.meta.url));
