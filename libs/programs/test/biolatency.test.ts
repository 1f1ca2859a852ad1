import type { HistOutput } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { biolatency } from '../src/biolatency/biolatency';
import { createLoopDevice, type LoopDevice } from './block-workload';
import { buildPrograms } from './support/build';
import { createScope, histogramsAfterEach, samples, trackKernelObjects, type TestScope } from './support/kernel';

const WRITES = 200;

const track = trackKernelObjects();
let scope: TestScope;
let loop: LoopDevice;

beforeAll(() => {
  buildPrograms();
  scope = createScope('biolatency');
  loop = createLoopDevice('biolatency');
}, 120_000);

afterAll(() => {
  loop?.remove();
  scope?.remove();
});

/** Runs biolatency with these params and reads its histogram after each step. */
const measure = (params: unknown, steps: Array<() => Promise<void>>): Promise<HistOutput[]> =>
  histogramsAfterEach(track, biolatency, params, scope.filter, steps);

describe('biolatency in the kernel', () => {
  it('measures the O_DIRECT writes submitted inside the scope, and none submitted outside it', async () => {
    const [outside, inside] = await measure({}, [
      () => loop.writeDirect(scope.runOutside, WRITES),
      () => loop.writeDirect(scope.runInside, WRITES),
    ]);
    expect(samples(outside)).toBe(0);
    // One request per synchronous 4 KiB O_DIRECT write; nothing else in the scope does block I/O.
    expect(samples(inside)).toBe(WRITES);
    for (const bucket of inside.buckets) expect(bucket.high).toBe(bucket.low === 0 ? 2 : bucket.low * 2);
    // A loop device answers in µs to ms, never in more than a few seconds.
    expect(Math.max(...inside.buckets.map((b) => b.high))).toBeLessThanOrEqual(2 ** 22);
  });

  it('measures only the disk asked for', async () => {
    const [other] = await measure({ disk: '7:1048575' }, [() => loop.writeDirect(scope.runInside, 20)]);
    expect(samples(other)).toBe(0);
    const [same] = await measure({ disk: loop.disk, queued: true }, [() => loop.writeDirect(scope.runInside, 20)]);
    expect(samples(same)).toBe(20);
  });

  it('rejects a disk that is not major:minor', () => {
    const result = biolatency.params.safeParse({ disk: 'sda' });
    expect(result.error?.issues.map((i) => i.message)).toEqual(['disk must be "major:minor", e.g. "8:0"']);
  });
});
