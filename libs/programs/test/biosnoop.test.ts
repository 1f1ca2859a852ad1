import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { biosnoop } from '../src/biosnoop/biosnoop';
import { createLoopDevice, WRITE_SIZE, type LoopDevice } from './block-workload';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';

const WRITES = 64;
const SECTOR_SIZE = 512;
const REQ_OP_READ = 0;
const REQ_OP_WRITE = 1;

const track = trackKernelObjects();
let scope: TestScope;
let loop: LoopDevice;

beforeAll(() => {
  buildPrograms();
  scope = createScope('biosnoop');
  loop = createLoopDevice('biosnoop');
}, 120_000);

afterAll(() => {
  loop?.remove();
  scope?.remove();
});

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, biosnoop, params, scope.filter, workload);
}

describe('biosnoop in the kernel', () => {
  it('reports each O_DIRECT write submitted inside the scope with the loop device, size and submitter', async () => {
    const events = await snoop({}, async () => {
      await loop.writeDirect(scope.runOutside, WRITES);
      await loop.writeDirect(scope.runInside, WRITES);
      await scope.runInside('dd', [`if=${loop.path}`, 'of=/dev/null', `bs=${WRITE_SIZE}`, 'count=8', 'iflag=direct']);
    });

    // Only the scope's dd processes: the one outside submitted as many writes, none reported.
    expect(new Set(events.map((e) => e.comm))).toEqual(new Set(['dd']));
    const writes = events.filter((e) => e.op === REQ_OP_WRITE);
    expect(writes).toHaveLength(WRITES);
    for (const write of writes) {
      expect(write).toMatchObject({ major: loop.major, minor: loop.minor, bytes: WRITE_SIZE, error: 0 });
      expect(write.latency_ns).toBeGreaterThan(0);
    }
    // dd writes the device front to back, one block per request.
    expect(writes.map((e) => e.sector)).toEqual(Array.from({ length: WRITES }, (_, i) => (i * WRITE_SIZE) / SECTOR_SIZE));
    expect(new Set(writes.map((e) => e.pid)).size).toBe(1);
    const reads = events.filter((e) => e.op === REQ_OP_READ);
    expect(reads).toHaveLength(8);
    expect(reads.every((e) => e.bytes === WRITE_SIZE && e.major === loop.major && e.minor === loop.minor)).toBe(true);
    expect(reads[0].pid).not.toBe(writes[0].pid);
  });

  it('keeps only requests slower than minLatencyUs', async () => {
    const events = await snoop({ minLatencyUs: 60_000_000 }, () => loop.writeDirect(scope.runInside, 8));
    expect(events).toEqual([]);
  });
});
