import { describe, expect, it } from 'vitest';
import type { HistOutput } from '@fleettrace/contracts';
import { mergeHist } from './merge';
import { histOutliers, histPercentile, histStats } from './hist-stats';

const hist = (buckets: Array<[number, number, number]>): HistOutput => ({
  kind: 'hist',
  name: 'latency',
  unit: 'us',
  buckets: buckets.map(([low, high, count]) => ({ low, high, count })),
});

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomLog2Hist(next: () => number): HistOutput {
  const buckets: Array<[number, number, number]> = [];
  for (let bit = 0; bit < 12; bit++) {
    if (next() < 0.4) continue;
    buckets.push([bit === 0 ? 0 : 2 ** (bit - 1), 2 ** bit, 1 + Math.floor(next() * 50)]);
  }
  return hist(buckets);
}

/** The definition spelled out: every value as its bucket, all hosts' together in order; the ceil(q × n)-th one. */
function bucketOfRank(hosts: HistOutput[], q: number): { low: number; high: number } | null {
  const values = hosts
    .flatMap((h) => h.buckets.flatMap((b) => Array.from({ length: b.count }, () => ({ low: b.low, high: b.high }))))
    .sort((a, b) => a.low - b.low);
  if (values.length === 0) return null;
  return values[Math.ceil(q * values.length - 1e-9) - 1];
}

describe('histStats', () => {
  it('finds, in the merged histogram, the bucket of the ceil(q × n)-th value of all hosts\' values', () => {
    const next = random(7);
    for (let trial = 0; trial < 200; trial++) {
      const hosts = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomLog2Hist(next));
      const stats = histStats(mergeHist(hosts));
      for (const [q, p] of [[0.5, stats.p50], [0.9, stats.p90], [0.99, stats.p99], [1, stats.max]] as const) {
        const expected = bucketOfRank(hosts, q);
        expect(p && { low: p.low, high: p.high }).toEqual(expected);
      }
      expect(stats.count).toBe(hosts.reduce((sum, h) => sum + h.buckets.reduce((s, b) => s + b.count, 0), 0));
    }
  });

  it('estimates inside the bucket, each of its values at the middle of an equal slice', () => {
    const stats = histStats(hist([[0, 1, 1], [1, 2, 1], [2, 4, 2], [4, 8, 6]]));
    expect(stats.count).toBe(10);
    // rank 5 is the first of the six values in [4, 8): slices of 2/3, the first centred at 4 + 1/3.
    expect(stats.p50).toEqual({ low: 4, high: 8, estimate: 4 + 0.5 * (4 / 6) });
    expect(stats.p90).toEqual({ low: 4, high: 8, estimate: 4 + 4.5 * (4 / 6) });
    expect(stats.p99).toEqual({ low: 4, high: 8, estimate: 4 + 5.5 * (4 / 6) });
    expect(stats.max).toEqual(stats.p99);
    expect(histStats(hist([[0, 1, 3]])).p50?.estimate).toBeGreaterThan(0);
  });

  it('takes the rank as ceil(q × n) exactly, though 0.07 × 100 is 7.000000000000001 in floating point', () => {
    const hundredBuckets = hist(Array.from({ length: 100 }, (_, i): [number, number, number] => [i, i + 1, 1]));
    expect(histPercentile(hundredBuckets, 0.07)).toMatchObject({ low: 6, high: 7 });
    expect(histPercentile(hundredBuckets, 0.071)).toMatchObject({ low: 7, high: 8 });
  });

  it('sorts the buckets and skips empty ones: max is the highest bucket with a count', () => {
    expect(histStats(hist([[8, 16, 0], [2, 4, 1], [0, 1, 1]])).max).toMatchObject({ low: 2, high: 4 });
  });

  it('is all nulls for an empty histogram', () => {
    expect(histStats(hist([]))).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    expect(histStats(hist([[1, 2, 0]])).p99).toBeNull();
  });

  it('refuses a quantile outside (0, 1]', () => {
    expect(() => histPercentile(hist([[1, 2, 1]]), 0)).toThrow('quantile must be in (0, 1], got 0');
    expect(() => histPercentile(hist([[1, 2, 1]]), 1.5)).toThrow('quantile must be in (0, 1], got 1.5');
  });
});

describe('histOutliers', () => {
  it('names hosts whose p99 bucket starts at least 4 times above the fleet\'s, largest ratio first', () => {
    const perHost = new Map([
      ['a', hist([[16, 32, 10_000]])],
      ['b', hist([[16, 32, 980], [64, 128, 20]])],
      ['c', hist([[16, 32, 980], [256, 512, 20]])],
      ['d', hist([[16, 32, 980], [32, 64, 20]])],
      ['e', hist([])],
    ]);
    const merged = mergeHist([...perHost.values()]);
    expect(histPercentile(merged, 0.99)).toMatchObject({ low: 16, high: 32 });
    expect(histOutliers(perHost, merged).map((o) => [o.hostId, o.p99.low, o.ratio])).toEqual([
      ['c', 256, 16],
      ['b', 64, 4],
    ]);
  });

  it('compares high bounds when the fleet\'s p99 bucket starts at 0', () => {
    const perHost = new Map([
      ['a', hist([[0, 1, 10_000]])],
      ['b', hist([[0, 1, 80], [1, 2, 20]])],
      ['c', hist([[0, 1, 80], [2, 4, 20]])],
    ]);
    const merged = mergeHist([...perHost.values()]);
    expect(histPercentile(merged, 0.99)).toMatchObject({ low: 0, high: 1 });
    expect(histOutliers(perHost, merged)).toEqual([{ hostId: 'c', p99: { low: 2, high: 4, estimate: 2 + 18.5 * 0.1 }, ratio: 4 }]);
  });

  it('finds none in an empty fleet', () => {
    expect(histOutliers(new Map([['a', hist([])]]), hist([]))).toEqual([]);
  });
});
