import { describe, expect, it } from 'vitest';
import type { HistOutput } from '@fleettrace/contracts';
import { boundLabel, bucketLabel, contiguousBuckets, histLines, percentileLines } from './hist';

const hist = (buckets: Array<[number, number, number]>, unit = 'us'): HistOutput => ({
  kind: 'hist',
  name: 'latency',
  unit,
  buckets: buckets.map(([low, high, count]) => ({ low, high, count })),
});

describe('bucket labels, as bpftrace prints them', () => {
  it('scales powers of 1024 to K, M, G and T, and leaves other numbers alone', () => {
    expect([0, 1, 2, 512, 1024, 2048, 3 * 1024, 2 ** 20, 2 ** 30, 2 ** 41, 1000, 1536].map(boundLabel)).toEqual([
      '0', '1', '2', '512', '1K', '2K', '3K', '1M', '1G', '2T', '1000', '1536',
    ]);
  });

  it('names single values [n], ranges [low, high), and open ends with ...', () => {
    expect(bucketLabel({ low: 0, high: 1 })).toBe('[0]');
    expect(bucketLabel({ low: 1, high: 2 })).toBe('[1]');
    expect(bucketLabel({ low: 0, high: 2 })).toBe('[0, 2)');
    expect(bucketLabel({ low: 2048, high: 4096 })).toBe('[2K, 4K)');
    expect(bucketLabel({ low: -Number.MAX_SAFE_INTEGER, high: 0 })).toBe('(..., 0)');
    expect(bucketLabel({ low: 100, high: Number.MAX_SAFE_INTEGER })).toBe('[100, ...)');
  });
});

describe('histLines', () => {
  it('draws the bpftrace layout: 16-wide label, 8-wide count, a 52-wide bar of @ scaled to the fullest bucket', () => {
    expect(histLines(hist([[0, 2, 3], [2, 4, 12], [4, 8, 6]]))).toEqual([
      '@latency (us):',
      `[0, 2)                 3 |${'@'.repeat(13).padEnd(52)}|`,
      `[2, 4)                12 |${'@'.repeat(52)}|`,
      `[4, 8)                 6 |${'@'.repeat(26).padEnd(52)}|`,
    ]);
  });

  it('prints the empty log2 buckets between the ones the wire format sends, as bpftrace does', () => {
    const lines = histLines(hist([[1024, 2048, 5], [8192, 16384, 1]]));
    expect(lines.slice(1).map((l) => l.slice(0, 24).trimEnd())).toEqual([
      '[1K, 2K)               5',
      '[2K, 4K)               0',
      '[4K, 8K)               0',
      '[8K, 16K)              1',
    ]);
  });

  it('fills linear (lhist) gaps with buckets of the same width, and says so when empty', () => {
    expect(contiguousBuckets(hist([[0, 10, 1], [30, 40, 2]])).map((b) => [b.low, b.high, b.count])).toEqual([
      [0, 10, 1],
      [10, 20, 0],
      [20, 30, 0],
      [30, 40, 2],
    ]);
    expect(histLines(hist([]))).toEqual(['@latency (us):', '(no values)']);
  });
});

describe('percentileLines', () => {
  it("lists the fleet's and each host's count and percentile buckets, and stars a host whose p99 is 4x the fleet's", () => {
    const a = hist([[2, 4, 100]]);
    const b = hist([[2, 4, 98], [64, 128, 2]]);
    const c = hist([[2, 4, 10000]]);
    const merged = hist([[2, 4, 10198], [64, 128, 2]]);
    const lines = percentileLines(merged, new Map([['b', b], ['a', a], ['c', c]]));
    expect(lines[0].split(/\s+/)).toEqual(['HOST', 'COUNT', 'P50', 'P90', 'P99', 'MAX']);
    expect(lines[1]).toMatch(/^fleet\s+10,200\s+\[2, 4\)\s+\[2, 4\)\s+\[2, 4\)\s+\[64, 128\)$/);
    expect(lines[2]).toMatch(/^a\s+100\s/);
    expect(lines[3]).toMatch(/^b \*\s+100\s+\[2, 4\)\s+\[2, 4\)\s+\[64, 128\)\s+\[64, 128\)$/);
    expect(lines.at(-1)).toBe("* p99 at least 4x the fleet's");
  });
});
