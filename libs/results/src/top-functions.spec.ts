import { describe, expect, it } from 'vitest';
import type { StacksOutput } from '@fleettrace/contracts';
import { topFunctions } from './top-functions';

const stacks = (entries: Array<[string, number]>): StacksOutput => ({
  kind: 'stacks',
  name: 'samples',
  unit: 'samples',
  entries: entries.map(([stack, value]) => ({ stack, value })),
  unsymbolized: 0,
  lost: 0,
});

const samples = stacks([
  ['app;main;work;schedule_[k]', 30],
  ['app;main;idle', 25],
  ['app;main;work;parse;parse;parse', 40],
  ['db;main;query;schedule', 5],
]);

describe('topFunctions', () => {
  it('weighs each function by the stacks it is the leaf of, with its share of the total', () => {
    const { total, bySelf } = topFunctions(samples);
    expect(total).toBe(100);
    expect(bySelf).toEqual([
      { name: 'parse', value: 40, percent: 40 },
      { name: 'schedule_[k]', value: 30, percent: 30 },
      { name: 'idle', value: 25, percent: 25 },
      { name: 'schedule', value: 5, percent: 5 },
    ]);
  });

  it('weighs each function by the stacks it is anywhere in, once per stack however deep it recurses', () => {
    expect(topFunctions(samples, { limit: 5 }).byTotal).toEqual([
      { name: 'main', value: 100, percent: 100 },
      { name: 'app', value: 95, percent: 95 },
      { name: 'work', value: 70, percent: 70 },
      { name: 'parse', value: 40, percent: 40 },
      { name: 'schedule_[k]', value: 30, percent: 30 },
    ]);
  });

  it('lists the first N of each, ties by name, and nothing for an empty output', () => {
    const tied = topFunctions(stacks([['b', 1], ['a', 1], ['c', 1]]), { limit: 2 });
    expect(tied.bySelf.map((f) => f.name)).toEqual(['a', 'b']);
    expect(tied.byTotal.map((f) => f.name)).toEqual(['a', 'b']);
    expect(topFunctions(stacks([]))).toEqual({ total: 0, bySelf: [], byTotal: [] });
    expect(topFunctions(stacks(Array.from({ length: 30 }, (_, i): [string, number] => [`f${i}`, 1]))).bySelf).toHaveLength(20);
  });
});
