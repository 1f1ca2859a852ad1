import { describe, expect, it } from 'vitest';
import { CoalescedReads } from './coalesced-reads';

/** A load whose completion the test controls, counting how often it started. */
function controlledLoads() {
  const pending: Array<(value: number) => void> = [];
  let started = 0;
  const load = (): Promise<number> => {
    started += 1;
    const n = started;
    return new Promise<number>((resolve) => pending.push(() => resolve(n)));
  };
  return { load, finishNext: () => pending.shift()?.(0), started: () => started };
}

describe('CoalescedReads', () => {
  it('serves callers that arrive during a read from the next read, never from the one already running', async () => {
    const reads = new CoalescedReads<string, number>();
    const { load, finishNext, started } = controlledLoads();
    const first = reads.read('job', load);
    const second = reads.read('job', load);
    const third = reads.read('job', load);
    expect(started()).toBe(1);
    finishNext();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(started()).toBe(2);
    finishNext();
    expect(await second).toBe(2);
    expect(await third).toBe(2);
  });

  it('keeps keys apart and starts afresh once nothing is running', async () => {
    const reads = new CoalescedReads<string, number>();
    const a = controlledLoads();
    const b = controlledLoads();
    const ra = reads.read('a', a.load);
    const rb = reads.read('b', b.load);
    a.finishNext();
    b.finishNext();
    expect([await ra, await rb]).toEqual([1, 1]);
    const again = reads.read('a', a.load);
    expect(a.started()).toBe(2);
    a.finishNext();
    expect(await again).toBe(2);
  });

  it('hands a failure to the callers of that read only; the queued read still runs', async () => {
    const reads = new CoalescedReads<string, number>();
    let calls = 0;
    let fail!: (e: Error) => void;
    const load = (): Promise<number> => {
      calls += 1;
      return calls === 1 ? new Promise<number>((_, reject) => (fail = reject)) : Promise.resolve(calls);
    };
    const first = reads.read('job', load);
    const second = reads.read('job', load);
    fail(new Error('job gone'));
    await expect(first).rejects.toThrow('job gone');
    expect(await second).toBe(2);
  });
});
