import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBuffer } from './event-buffer';

describe('EventBuffer', () => {
  it('keeps up to the cap, counts the rest as dropped, and flushes in batches', () => {
    const batches: number[][] = [];
    const buffer = new EventBuffer('exec', 5, 2, (records) => batches.push(records.map((r) => Number(r.n))));
    for (let n = 0; n < 7; n++) buffer.add({ n });
    buffer.countDropped(3);
    buffer.flush();
    expect(batches).toEqual([[0, 1], [2, 3], [4]]);
    expect(buffer.full).toBe(true);
    expect(buffer.summary()).toEqual({ kind: 'events', name: 'exec', received: 10, dropped: 5 });
  });

  describe('with a quiet program', () => {
    afterEach(() => vi.useRealTimers());

    it('sends a batch that has not filled once its first record is maxDelayMs old', () => {
      vi.useFakeTimers();
      const batches: number[][] = [];
      const buffer = new EventBuffer('exec', 100, 50, (records) => batches.push(records.map((r) => Number(r.n))), 250);
      buffer.add({ n: 1 });
      vi.advanceTimersByTime(200);
      buffer.add({ n: 2 });
      expect(batches).toEqual([]);
      vi.advanceTimersByTime(50);
      expect(batches).toEqual([[1, 2]]);
      buffer.add({ n: 3 });
      vi.advanceTimersByTime(249);
      expect(batches).toEqual([[1, 2]]);
      buffer.flush();
      expect(batches).toEqual([[1, 2], [3]]);
      vi.advanceTimersByTime(1000);
      expect(batches).toEqual([[1, 2], [3]]);
    });
  });
});
