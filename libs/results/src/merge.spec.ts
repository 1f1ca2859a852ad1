import { describe, expect, it } from 'vitest';
import type { CountsOutput, HistOutput, StacksOutput } from '@fleettrace/contracts';
import { mergeCounts, mergeEvents, mergeHist, mergeOutputs, mergeStacks, type TimedEventsOutput } from './merge';

const hist = (buckets: Array<[number, number, number]>): HistOutput => ({
  kind: 'hist',
  name: 'latency',
  unit: 'us',
  buckets: buckets.map(([low, high, count]) => ({ low, high, count })),
});

const counts = (entries: Array<[Record<string, string | number>, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'syscalls',
  unit: 'calls',
  keyFields: ['comm', 'syscall'],
  entries: entries.map(([key, value]) => ({ key, value })),
});

const stacks = (entries: Array<[string, number]>, unsymbolized = 0, lost = 0): StacksOutput => ({
  kind: 'stacks',
  name: 'samples',
  unit: 'samples',
  entries: entries.map(([stack, value]) => ({ stack, value })),
  unsymbolized,
  lost,
});

const events = (host: string, times: number[], received = times.length, dropped = 0): TimedEventsOutput => ({
  kind: 'events',
  name: 'exec',
  received,
  dropped,
  records: times.map((t, i) => ({ ts: BigInt(t), host, record: { t, i, host } })),
});

describe('mergeHist', () => {
  it('sums counts of the same [low, high) bucket and keeps buckets only one host has, in range order', () => {
    const merged = mergeHist([
      hist([
        [0, 1, 2],
        [4, 8, 5],
      ]),
      hist([
        [4, 8, 7],
        [2, 4, 1],
        [16, 32, 3],
      ]),
    ]);
    expect(merged).toEqual(
      hist([
        [0, 1, 2],
        [2, 4, 1],
        [4, 8, 12],
        [16, 32, 3],
      ]),
    );
  });

  it('keeps buckets with the same low but another high apart', () => {
    expect(mergeHist([hist([[0, 10, 1]]), hist([[0, 20, 1]])]).buckets).toHaveLength(2);
  });
});

describe('mergeCounts', () => {
  it('sums per key, whatever the field order of the key, and sorts by value descending', () => {
    const merged = mergeCounts([
      counts([
        [{ comm: 'bash', syscall: 'read' }, 10],
        [{ comm: 'cat', syscall: 'write' }, 3],
      ]),
      counts([
        [{ syscall: 'read', comm: 'bash' }, 5],
        [{ comm: 'cat', syscall: 'openat' }, 20],
        [{ comm: 'cat', syscall: 'write' }, 1],
      ]),
    ]);
    expect(merged.entries).toEqual([
      { key: { comm: 'cat', syscall: 'openat' }, value: 20 },
      { key: { comm: 'bash', syscall: 'read' }, value: 15 },
      { key: { comm: 'cat', syscall: 'write' }, value: 4 },
    ]);
    expect(merged.keyFields).toEqual(['comm', 'syscall']);
  });

  it('does not merge keys that only look alike as strings', () => {
    const merged = mergeCounts([counts([[{ pid: 1 }, 1]]), counts([[{ pid: '1' }, 1]])]);
    expect(merged.entries).toHaveLength(2);
  });
});

describe('mergeStacks', () => {
  it('sums equal folded stacks, keeps the others, sorts by value descending (ties by stack) and adds up the counters', () => {
    const merged = mergeStacks([
      stacks(
        [
          ['app;main;work;schedule_[k]', 30],
          ['app;main;idle', 5],
          ['app;[unknown]', 2],
        ],
        2,
        1,
      ),
      stacks([
        ['app;main;idle', 25],
        ['app;main;work;schedule_[k]', 12],
        ['db;main;query', 5],
      ]),
      stacks([], 0, 4),
    ]);
    expect(merged).toEqual(
      stacks(
        [
          ['app;main;work;schedule_[k]', 42],
          ['app;main;idle', 30],
          ['db;main;query', 5],
          ['app;[unknown]', 2],
        ],
        2,
        5,
      ),
    );
  });

  it('does not merge stacks that differ in one frame, nor a stack with its prefix', () => {
    const merged = mergeStacks([stacks([['a;b;c', 1]]), stacks([['a;b', 1], ['a;b;c_[k]', 1]])]);
    expect(merged.entries.map((e) => e.stack)).toEqual(['a;b', 'a;b;c', 'a;b;c_[k]']);
  });
});

describe('mergeEvents', () => {
  it('orders records of all hosts by time, caps them, and adds up received and dropped', () => {
    const merged = mergeEvents([events('b', [5, 30], 10, 8), events('a', [10, 20, 40], 3, 0)], 4);
    expect(merged.records.map((r) => [r.host, Number(r.ts)])).toEqual([
      ['b', 5],
      ['a', 10],
      ['a', 20],
      ['b', 30],
    ]);
    expect(merged.received).toBe(13);
    expect(merged.dropped).toBe(8);
  });

  it('compares times beyond 2^53 exactly', () => {
    const big = 2n ** 60n;
    const a: TimedEventsOutput = { ...events('a', []), records: [{ ts: big + 1n, host: 'a', record: {} }] };
    const b: TimedEventsOutput = { ...events('b', []), records: [{ ts: big, host: 'b', record: {} }] };
    expect(mergeEvents([a, b], 10).records.map((r) => r.host)).toEqual(['b', 'a']);
  });

  it('breaks time ties by host and keeps one host\'s arrival order', () => {
    const merged = mergeEvents([events('b', [1]), events('a', [1, 1])], 10);
    expect(merged.records.map((r) => [r.host, r.record.i])).toEqual([
      ['a', 0],
      ['a', 1],
      ['b', 0],
    ]);
  });
});

describe('mergeOutputs', () => {
  it('merges each output with the same name and kind across hosts', () => {
    const merged = mergeOutputs(
      [
        [hist([[1, 2, 1]]), counts([[{ comm: 'x' }, 1]]), events('a', [2]), stacks([['x;f', 1]])],
        [hist([[1, 2, 2]]), events('b', [1]), stacks([['x;f', 2]])],
        [],
      ],
      10,
    );
    expect(merged.map((o) => [o.kind, o.name])).toEqual([
      ['events', 'exec'],
      ['hist', 'latency'],
      ['stacks', 'samples'],
      ['counts', 'syscalls'],
    ]);
    expect((merged[2] as StacksOutput).entries).toEqual([{ stack: 'x;f', value: 3 }]);
    expect((merged[1] as HistOutput).buckets).toEqual([{ low: 1, high: 2, count: 3 }]);
    expect((merged[0] as TimedEventsOutput).records.map((r) => r.host)).toEqual(['b', 'a']);
  });
});
