import type { HistOutput } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histFromEntries } from '../src/aggregate';
import { funclatency } from '../src/funclatency/funclatency';
import type { HistOutputSpec } from '../src/manifest';
import { attachAsPlanned } from './support/attach-plan';
import { buildPrograms } from './support/build';
import { buildFuncWorkload, SLEEP_FUNCTION, type FuncWorkload } from './support/func-workload';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let workload: FuncWorkload;

beforeAll(() => {
  buildPrograms();
  scope = createScope('funclatency');
  workload = buildFuncWorkload();
}, 120_000);

afterAll(() => {
  scope?.remove();
  workload?.remove();
});

async function measure(params: Record<string, unknown>, run: () => Promise<void>): Promise<HistOutput> {
  const spec = funclatency.outputs[0] as HistOutputSpec;
  const full = { binary: workload.binary, function: SLEEP_FUNCTION, ...params };
  const obj = track(loadProgram(funclatency, full, scope.filter));
  try {
    expect(attachAsPlanned(obj, funclatency, full).map((l) => l.kind)).toEqual(['uprobe', 'uretprobe']);
    await run();
    return histFromEntries(spec, obj.map(spec.map).entries());
  } finally {
    await obj.close();
  }
}

describe('funclatency in the kernel', () => {
  it('times each call of a function that sleeps 2.1 ms into the 2048-4095 µs bucket (or just above)', async () => {
    const calls = 20;
    // 2,100 µs, not 2,000: nanosleep never returns early, so every call measures at least this, above
    // the bucket's 2,048 µs floor. A 2,000 µs sleep lands below it whenever the wake-up is prompt.
    const sleepUs = '2100';
    const hist = await measure({}, async () => {
      await scope.runInside(workload.binary, [String(calls), sleepUs]);
      await scope.runOutside(workload.binary, [String(calls), sleepUs]);
    });
    // Only the calls in the scope: the outside run adds nothing.
    expect(hist.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(calls);
    const inBucket = hist.buckets.find((b) => b.low === 2048 && b.high === 4096)?.count ?? 0;
    // A 2.1 ms sleep can never measure shorter, but on a loaded host it can overrun: the lower bound is
    // exact, the upper one only holds for most calls.
    expect(inBucket).toBeGreaterThan(calls / 2);
    for (const b of hist.buckets) expect(b.low).toBeGreaterThanOrEqual(2048);
  }, 30_000);

  it('counts nothing for a comm that does not match', async () => {
    const hist = await measure({ comm: 'no-such-comm' }, () => scope.runInside(workload.binary, ['5', '2000']));
    expect(hist.buckets).toEqual([]);
  }, 30_000);
});
