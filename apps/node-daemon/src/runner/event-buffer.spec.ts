import { describe, expect, it } from 'vitest';
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
});
