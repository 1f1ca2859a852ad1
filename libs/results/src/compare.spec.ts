import { describe, expect, it } from 'vitest';
import type { CountsOutput, HistOutput, StacksOutput } from '@fleettrace/contracts';
import { compareCounts, compareHist, diffFolded, type JobHist } from './compare';
import { mergeHist } from './merge';

const hist = (buckets: Array<[number, number, number]>, unit = 'us'): HistOutput => ({
  kind: 'hist',
  name: 'latency',
  unit,
  buckets: buckets.map(([low, high, count]) => ({ low, high, count })),
});

const job = (perHost: Record<string, HistOutput>): JobHist => ({
  merged: mergeHist(Object.values(perHost)),
  perHost: new Map(Object.entries(perHost)),
});

const counts = (entries: Array<[Record<string, string | number>, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'syscalls',
  unit: 'calls',
  keyFields: ['comm', 'syscall'],
  entries: entries.map(([key, value]) => ({ key, value })),
});

const stacks = (entries: Array<[string, number]>, unit = 'samples'): StacksOutput => ({
  kind: 'stacks',
  name: 'samples',
  unit,
  entries: entries.map(([stack, value]) => ({ stack, value })),
  unsymbolized: 0,
  lost: 0,
});

describe('compareHist', () => {
  it('gives each percentile\'s bucket in a and b and the ratio of their estimates, fleet-wide and per host in both', () => {
    const a = job({ x: hist([[4, 8, 10]]), y: hist([[4, 8, 10]]), gone: hist([[1, 2, 5]]) });
    const b = job({ x: hist([[16, 32, 10]]), y: hist([[4, 8, 10]]), added: hist([[1, 2, 5]]) });
    const shift = compareHist(a, b);
    expect(Object.keys(shift.perHost)).toEqual(['x', 'y']);
    expect(shift.perHost.x.p50).toEqual({
      a: { low: 4, high: 8, estimate: 4 + 4.5 * 0.4 },
      b: { low: 16, high: 32, estimate: 16 + 4.5 * 1.6 },
      ratio: 4,
    });
    expect(shift.perHost.y.p99.ratio).toBe(1);
    expect(shift.perHost.x.count).toEqual({ a: 10, b: 10 });
    expect(shift.merged.count).toEqual({ a: 25, b: 25 });
    expect(shift.merged.p99).toMatchObject({ a: { low: 4, high: 8 }, b: { low: 16, high: 32 } });
    expect(shift).toMatchObject({ name: 'latency', unit: 'us' });
  });

  it('has no ratio where a side is empty', () => {
    const shift = compareHist(job({ x: hist([]) }), job({ x: hist([[1, 2, 1]]) }));
    expect(shift.merged.p50).toEqual({ a: null, b: { low: 1, high: 2, estimate: 1.5 }, ratio: null });
  });

  it('refuses histograms in different units', () => {
    expect(() => compareHist(job({ x: hist([], 'us') }), job({ x: hist([], 'ns') }))).toThrow('cannot compare "latency" in us with "latency" in ns');
  });
});

describe('compareCounts', () => {
  const a = counts([
    [{ comm: 'nginx', syscall: 'read' }, 100],
    [{ comm: 'nginx', syscall: 'write' }, 40],
    [{ comm: 'cron', syscall: 'openat' }, 5],
    [{ comm: 'bash', syscall: 'read' }, 7],
  ]);
  const b = counts([
    [{ syscall: 'read', comm: 'nginx' }, 130],
    [{ comm: 'nginx', syscall: 'write' }, 10],
    [{ comm: 'java', syscall: 'futex' }, 20],
    [{ comm: 'bash', syscall: 'read' }, 7],
  ]);

  it('gives every key\'s delta, absolute and relative, largest |delta| first', () => {
    expect(compareCounts(a, b).deltas).toEqual([
      { key: { syscall: 'read', comm: 'nginx' }, a: 100, b: 130, delta: 30, relative: 0.3 },
      { key: { comm: 'nginx', syscall: 'write' }, a: 40, b: 10, delta: -30, relative: -0.75 },
      { key: { comm: 'java', syscall: 'futex' }, a: 0, b: 20, delta: 20, relative: null },
      { key: { comm: 'cron', syscall: 'openat' }, a: 5, b: 0, delta: -5, relative: -1 },
      { key: { comm: 'bash', syscall: 'read' }, a: 7, b: 7, delta: 0, relative: 0 },
    ]);
  });

  it('lists the top movers, never a key that did not move, and the keys new in b and gone from a', () => {
    const comparison = compareCounts(a, b, { limit: 2 });
    expect(comparison.movers.map((d) => d.delta)).toEqual([30, -30]);
    expect(compareCounts(a, b).movers.map((d) => d.delta)).toEqual([30, -30, 20, -5]);
    expect(comparison.onlyInB).toEqual([{ key: { comm: 'java', syscall: 'futex' }, value: 20 }]);
    expect(comparison.onlyInA).toEqual([{ key: { comm: 'cron', syscall: 'openat' }, value: 5 }]);
  });

  it('refuses counts in different units', () => {
    expect(() => compareCounts(a, { ...b, unit: 'bytes' })).toThrow('cannot compare "syscalls" in calls with "syscalls" in bytes');
  });
});

describe('diffFolded', () => {
  it('writes "stack valueA valueB" lines in stack order, 0 where a job lacks the stack', () => {
    const text = diffFolded(
      stacks([['app;main;work;schedule_[k]', 30], ['app;main;idle', 5], ['db;ns::f(int, char)', 2]]),
      stacks([['app;main;idle', 25], ['app;main;work;schedule_[k]', 12], ['app;[unknown]', 3]]),
    );
    expect(text).toBe(
      'app;[unknown] 0 3\n' + 'app;main;idle 5 25\n' + 'app;main;work;schedule_[k] 30 12\n' + 'db;ns::f(int, char) 2 0\n',
    );
    // difffolded.pl's reading: the last two space-separated fields are the counts, the rest the stack.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^.+ \d+ \d+$/);
  });

  it('is empty for two empty profiles and refuses different units', () => {
    expect(diffFolded(stacks([]), stacks([]))).toBe('');
    expect(() => diffFolded(stacks([], 'samples'), stacks([], 'us'))).toThrow('cannot compare "samples" in samples with "samples" in us');
  });
});
