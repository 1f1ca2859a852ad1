import { describe, expect, it } from 'vitest';
import type { JobComparisonView, PercentileShiftView } from '@fleettrace/contracts';
import { comparisonDataset, comparisonLines } from './compare';

const shift = (a: [number, number] | null, b: [number, number] | null): PercentileShiftView => ({
  a: a && { low: a[0], high: a[1], estimate: (a[0] + a[1]) / 2 },
  b: b && { low: b[0], high: b[1], estimate: (b[0] + b[1]) / 2 },
  ratio: a && b ? (b[0] + b[1]) / (a[0] + a[1]) : null,
});

const comparison: JobComparisonView = {
  a: 'job-a',
  b: 'job-b',
  program: 'runqlat',
  outputs: [
    {
      kind: 'hist',
      name: 'latency',
      hist: {
        name: 'latency',
        unit: 'us',
        merged: { count: { a: 1200, b: 3400 }, p50: shift([4, 8], [8, 16]), p90: shift([16, 32], [64, 128]), p99: shift([64, 128], null) },
        perHost: { 'web-1': { count: { a: 1200, b: 0 }, p50: shift([4, 8], null), p90: shift([16, 32], null), p99: shift([64, 128], null) } },
      },
    },
    {
      kind: 'counts',
      name: 'calls',
      counts: {
        name: 'calls',
        unit: 'count',
        keyFields: ['comm'],
        deltas: [{ key: { comm: 'nginx' }, a: 10, b: 30, delta: 20, relative: 2 }],
        movers: [{ key: { comm: 'nginx' }, a: 10, b: 30, delta: 20, relative: 2 }],
        onlyInB: [{ key: { comm: 'redis' }, value: 5 }],
        onlyInA: [],
      },
    },
    { kind: 'stacks', name: 'samples', diffFolded: 'main;work 3 5\nmain;idle 2 0\n' },
  ],
  onlyInA: ['gone'],
  onlyInB: [],
};

describe('jobs compare views', () => {
  it('draws percentile shifts per host with their ratio, the counts that moved, and what only one job had', () => {
    expect(comparisonLines(comparison, new Map([['samples', '/tmp/d.folded']]))).toEqual([
      'A job-a',
      'B job-b',
      '',
      '@latency (us): A → B',
      'HOST   COUNT          P50                     P90                         P99',
      'fleet  1,200 → 3,400  [4, 8) → [8, 16) ×2.00  [16, 32) → [64, 128) ×4.00  [64, 128) → -',
      'web-1  1,200 → 0      [4, 8) → -              [16, 32) → -                [64, 128) → -',
      '',
      '@calls: top movers A → B',
      'COMM    A   B  DELTA   CHANGE',
      'nginx  10  30    +20  +200.0%',
      'only in B: 1 key (redis)',
      '',
      '@samples: 2 stacks compared, written to /tmp/d.folded',
      '',
      'only in A: @gone',
    ]);
  });

  it('gives csv and ndjson a row per host and percentile, and per count that moved', () => {
    const { rows } = comparisonDataset(comparison);
    expect(rows[0]).toEqual({ output: 'latency', kind: 'hist', host: 'fleet', stat: 'p50', a: 6, b: 12, ratio: 2 });
    expect(rows).toHaveLength(2 * 3 + 1);
    expect(rows.at(-1)).toEqual({ output: 'calls', kind: 'counts', key: 'nginx', a: 10, b: 30, delta: 20, ratio: 2 });
  });
});
