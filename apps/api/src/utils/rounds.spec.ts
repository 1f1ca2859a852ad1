import { describe, expect, it } from 'vitest';
import { inRounds } from './rounds';

describe('inRounds', () => {
  it('puts each key at most once in a round, its items in their order', () => {
    const items = [
      { runId: 'a', state: 'dispatched' },
      { runId: 'b', state: 'dispatched' },
      { runId: 'a', state: 'loading' },
      { runId: 'a', state: 'running' },
      { runId: 'c', state: 'cancelled' },
      { runId: 'b', state: 'running' },
    ];
    expect(inRounds(items, (c) => c.runId)).toEqual([
      [items[0], items[1], items[4]],
      [items[2], items[5]],
      [items[3]],
    ]);
  });

  it('is one round when every key is distinct, and none for no items', () => {
    expect(inRounds(['x', 'y', 'z'], (k) => k)).toEqual([['x', 'y', 'z']]);
    expect(inRounds([], String)).toEqual([]);
  });
});
