import { describe, expect, it } from 'vitest';
import type { CountsOutput } from '@fleettrace/contracts';
import { mergeCounts } from './merge';
import { countsTop } from './counts-top';

const counts = (entries: Array<[Record<string, string | number>, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'syscalls',
  unit: 'calls',
  keyFields: ['pid', 'comm', 'syscall'],
  entries: entries.map(([key, value]) => ({ key, value })),
});

const perHost = new Map([
  [
    'b',
    counts([
      [{ pid: 42, comm: 'nginx', syscall: 'read' }, 50],
      [{ pid: 7, comm: 'bash', syscall: 'read' }, 3],
    ]),
  ],
  [
    'a',
    counts([
      [{ pid: 42, comm: 'nginx', syscall: 'read' }, 10],
      [{ pid: 42, comm: 'nginx', syscall: 'write' }, 30],
      [{ pid: 9, comm: 'nginx', syscall: 'openat' }, 2],
      [{ pid: 7, comm: 'bash', syscall: 'write' }, 1],
    ]),
  ],
]);
const merged = mergeCounts([...perHost.values()]);

describe('countsTop', () => {
  it('lists the top N with every host\'s share, in host order, and sums the rest as other', () => {
    const top = countsTop(merged, perHost, { limit: 2 });
    expect(top.rows).toEqual([
      { key: { pid: 42, comm: 'nginx', syscall: 'read' }, value: 60, byHost: { a: 10, b: 50 } },
      { key: { pid: 42, comm: 'nginx', syscall: 'write' }, value: 30, byHost: { a: 30 } },
    ]);
    expect(Object.keys(top.rows[0].byHost)).toEqual(['a', 'b']);
    expect(top.other).toEqual({ value: 6, keys: 3 });
    expect(top.total).toBe(96);
    expect(top).toMatchObject({ name: 'syscalls', unit: 'calls', keyFields: ['pid', 'comm', 'syscall'] });
  });

  it('lists 20 by default, with nothing left over when there are fewer', () => {
    const top = countsTop(merged, perHost);
    expect(top.rows).toHaveLength(5);
    expect(top.other).toEqual({ value: 0, keys: 0 });
    const many = counts(Array.from({ length: 25 }, (_, i): [Record<string, number>, number] => [{ pid: i }, i + 1]));
    const manyTop = countsTop(many, new Map([['a', many]]));
    expect(manyTop.rows).toHaveLength(20);
    expect(manyTop.rows[0].value).toBe(25);
    expect(manyTop.other).toEqual({ value: 1 + 2 + 3 + 4 + 5, keys: 5 });
  });

  it('keeps only keys whose fields equal the filter\'s, comparing values as strings', () => {
    const nginx42 = countsTop(merged, perHost, { filter: { comm: 'nginx', pid: '42' } });
    expect(nginx42.rows.map((r) => r.key.syscall)).toEqual(['read', 'write']);
    expect(nginx42.total).toBe(90);
    expect(countsTop(merged, perHost, { filter: { pid: 7 } }).rows.map((r) => r.value)).toEqual([3, 1]);
    expect(countsTop(merged, perHost, { filter: { comm: 'nope' } }).rows).toEqual([]);
  });

  it('refuses a filter on a field the keys do not have, and a limit that is not a whole number', () => {
    expect(() => countsTop(merged, perHost, { filter: { cpu: 1 } })).toThrow(
      'output "syscalls" has no key field "cpu"; its key fields: pid, comm, syscall',
    );
    expect(() => countsTop(merged, perHost, { limit: -1 })).toThrow('limit must be a whole number >= 0, got -1');
  });
});
