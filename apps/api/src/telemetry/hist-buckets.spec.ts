import { describe, expect, it } from 'vitest';
import { log2Bucket } from '@fleettrace/programs';
import { bucketIndex, explicitBuckets, LOG2_SLOTS, log2Boundaries, log2Buckets, log2Slot, log2SlotUpperBound } from './hist-buckets';

describe('log2 slots as OpenTelemetry explicit buckets', () => {
  const boundaries = log2Boundaries();

  it('has one bucket per slot, the last slot being the overflow bucket', () => {
    expect(boundaries).toHaveLength(LOG2_SLOTS - 1);
    expect(boundaries.slice(0, 5)).toEqual([1, 3, 7, 15, 31]);
  });

  it('puts each edge of every slot in the bucket of that slot', () => {
    // The values either side of each power of two: 2^i - 1 is the last of slot i-1, 2^i the first of slot i.
    for (let slot = 1; slot < 52; slot++) {
      const first = 2 ** slot;
      const lastOfPrevious = first - 1;
      expect(bucketIndex(boundaries, first)).toBe(slot);
      expect(bucketIndex(boundaries, lastOfPrevious)).toBe(slot - 1);
      expect(log2Slot(first)).toBe(slot);
      expect(log2Slot(lastOfPrevious)).toBe(slot - 1);
    }
    expect(bucketIndex(boundaries, 0)).toBe(0);
    expect(bucketIndex(boundaries, 1)).toBe(0);
    expect(bucketIndex(boundaries, 2)).toBe(1);
    // Past 2^53 doubles cannot tell 2^i - 1 from 2^i; only the overflow bucket is checked there.
    expect(bucketIndex(boundaries, 2 ** 64)).toBe(LOG2_SLOTS - 1);
  });

  it('agrees with the catalog bucket of each slot: its low is the first value in, its high the first value out', () => {
    for (let slot = 0; slot < 52; slot++) {
      const { low, high } = log2Bucket(slot, 1);
      expect(bucketIndex(boundaries, low)).toBe(slot);
      expect(bucketIndex(boundaries, high - 1)).toBe(slot);
      expect(bucketIndex(boundaries, high)).toBe(slot + 1);
      expect(log2SlotUpperBound(slot)).toBe(high - 1);
    }
  });

  it('spreads a catalog hist over all slots, empty ones as zero', () => {
    const { counts } = log2Buckets([log2Bucket(0, 4), log2Bucket(3, 7), log2Bucket(63, 1)]);
    expect(counts).toHaveLength(LOG2_SLOTS);
    expect(counts[0]).toBe(4);
    expect(counts[3]).toBe(7);
    expect(counts[63]).toBe(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('refuses a bucket that is not a log2 slot', () => {
    expect(() => log2Buckets([{ low: 3, high: 6, count: 1 }])).toThrow('bucket [3, 6) is not a log2 slot');
    expect(() => log2Buckets([{ low: 4, high: 16, count: 1 }])).toThrow('bucket [4, 16) is not a log2 slot');
  });
});

describe('other hists as explicit buckets', () => {
  it('maps [low, high) to (low - 1, high - 1], with zero buckets in the gaps', () => {
    const result = explicitBuckets([
      { low: 10, high: 20, count: 3 },
      { low: 0, high: 10, count: 2 },
      { low: 40, high: 50, count: 1 },
    ]);
    expect(result).toEqual({ boundaries: [-1, 9, 19, 39, 49], counts: [0, 2, 3, 0, 1, 0] });
    expect(bucketIndex(result.boundaries, 9)).toBe(1);
    expect(bucketIndex(result.boundaries, 10)).toBe(2);
    expect(bucketIndex(result.boundaries, 39)).toBe(3);
  });

  it('keeps an open lower end open', () => {
    expect(explicitBuckets([{ low: -Infinity, high: 0, count: 5 }, { low: 0, high: 1, count: 1 }])).toEqual({ boundaries: [-1, 0], counts: [5, 1, 0] });
  });

  it('refuses overlapping buckets', () => {
    expect(() => explicitBuckets([{ low: 0, high: 10, count: 1 }, { low: 5, high: 15, count: 1 }])).toThrow('bucket [5, 15) overlaps the one before it');
  });
});
