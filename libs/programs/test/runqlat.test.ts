import type { HistOutput } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilterContext } from '../src/manifest';
import { sleepsSurelySeen } from '@fleettrace/infra';
import { runqlat } from '../src/runqlat/runqlat';
import { buildPrograms } from './support/build';
import { buildWorkload, createScope, histogramsAfterEach, samples, trackKernelObjects, WORKLOAD, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;

beforeAll(() => {
  buildPrograms();
  buildWorkload();
  scope = createScope('runqlat');
}, 120_000);

afterAll(() => scope?.remove());

/** Runs runqlat with these params and reads its histogram after each step of `steps`. */
const measure = (params: unknown, steps: Array<() => Promise<void>>, filter: FilterContext = scope.filter): Promise<HistOutput[]> =>
  histogramsAfterEach(track, runqlat, params, filter, steps);

describe('runqlat in the kernel', () => {
  it('measures one wait per wakeup of the tasks in the cgroup scope, and none outside it', async () => {
    const [outside, inside] = await measure({}, [
      () => scope.runOutside(WORKLOAD, ['sleep', '400', '100']),
      () => scope.runInside(WORKLOAD, ['sleep', '50', '1000']),
    ]);
    // Nothing runs in the scope during the first step: 400 wakeups outside it, not one counted.
    expect(outside).toEqual({ kind: 'hist', name: 'latency', unit: 'us', buckets: [] });
    // Each sleep ends in a wakeup, then a wait to run; the shell, the exec and preemptions add some.
    expect(samples(inside)).toBeGreaterThanOrEqual(sleepsSurelySeen(50));
    for (const bucket of inside.buckets) expect(bucket.high).toBe(bucket.low === 0 ? 2 : bucket.low * 2);
  });

  it('measures only the comm asked for', async () => {
    const [hist] = await measure({ comm: 'no-such-comm' }, [() => scope.runInside(WORKLOAD, ['sleep', '20', '1000'])]);
    expect(samples(hist)).toBe(0);
  });

  it('measures the tasks of the whole host without a scope', async () => {
    const [hist] = await measure({}, [() => scope.runOutside(WORKLOAD, ['sleep', '50', '1000'])], { cgroupId: null });
    expect(samples(hist)).toBeGreaterThanOrEqual(sleepsSurelySeen(50));
  });
});
