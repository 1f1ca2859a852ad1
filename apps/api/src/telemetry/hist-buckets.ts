import type { HistBucket } from '@fleettrace/contracts';

/**
 * How a histogram counted in the kernel becomes an OpenTelemetry explicit-bucket histogram. This is
 * the one place that mapping is stated.
 *
 * The catalog's slot i holds the values v with 2^i <= v < 2^(i+1) (slot 0 also holds 0): lower bound
 * inclusive, upper exclusive. OpenTelemetry's explicit buckets are the other way round: bucket k holds
 * bounds[k-1] < v <= bounds[k]. The values counted are whole numbers (µs, ns, bytes), so
 * [2^i, 2^(i+1)) holds exactly the same values as (2^i - 1, 2^(i+1) - 1]: slot i's OTel upper bound is
 * 2^(i+1) - 1. Slot 0 becomes (-inf, 1], and the last slot the overflow bucket (.., +inf). Using 2^(i+1)
 * itself would move every value sitting exactly on a power of two one bucket down. (Bounds are doubles,
 * exact up to 2^53: far past any latency or size a slot above that could hold.)
 *
 * Every hist of a catalog program is exported with all LOG2_SLOTS buckets, empty ones included, so a
 * series keeps the same `le` labels from one run to the next (a heatmap needs that). A hist that is not
 * in log2 slots (bpftrace's hist and lhist) gets bounds from its own [low, high) buckets by the same
 * whole-number rule, with a zero bucket for each gap between them.
 */
export const LOG2_SLOTS = 64;

export interface ExplicitBuckets {
  /** Upper-inclusive bounds, strictly increasing; one fewer than counts. */
  boundaries: number[];
  counts: number[];
}

/** OTel upper bound of log2 slot i: the largest whole number the slot holds. */
export function log2SlotUpperBound(slot: number): number {
  return 2 ** (slot + 1) - 1;
}

/** The slot a whole number falls in, as the kernel side counts it (log2_hist.bpf.h). */
export function log2Slot(value: number): number {
  // Bit length, not Math.log2: log2(2^49 - 1) rounds up to 49 in floating point.
  return value < 2 ? 0 : Math.min(BigInt(Math.trunc(value)).toString(2).length - 1, LOG2_SLOTS - 1);
}

/** Bounds of all log2 slots: slot i is bucket i; the last slot is the overflow bucket, so it has no bound. */
export function log2Boundaries(slots = LOG2_SLOTS): number[] {
  return Array.from({ length: slots - 1 }, (_, slot) => log2SlotUpperBound(slot));
}

/** A catalog hist (its buckets are log2 slots) as all LOG2_SLOTS explicit buckets. */
export function log2Buckets(buckets: readonly HistBucket[]): ExplicitBuckets {
  const counts = new Array<number>(LOG2_SLOTS).fill(0);
  for (const bucket of buckets) {
    const slot = bucket.low === 0 ? 0 : Math.log2(bucket.low);
    if (!Number.isInteger(slot) || slot < 0 || slot >= LOG2_SLOTS || bucket.high !== 2 ** (slot + 1)) {
      throw new RangeError(`bucket [${bucket.low}, ${bucket.high}) is not a log2 slot`);
    }
    counts[slot] += bucket.count;
  }
  return { boundaries: log2Boundaries(), counts };
}

/**
 * Any hist of whole numbers: bucket [low, high) becomes (low - 1, high - 1]. Buckets that do not touch
 * get a zero bucket between them, so no count is ever put where its values were not.
 */
export function explicitBuckets(buckets: readonly HistBucket[]): ExplicitBuckets {
  const sorted = [...buckets].sort((a, b) => a.low - b.low);
  const boundaries: number[] = [];
  const counts: number[] = [];
  let upper = -Infinity;
  for (const bucket of sorted) {
    if (bucket.low - 1 < upper) throw new RangeError(`bucket [${bucket.low}, ${bucket.high}) overlaps the one before it`);
    if (bucket.low - 1 > upper) {
      boundaries.push(bucket.low - 1);
      counts.push(0);
    }
    upper = bucket.high - 1;
    boundaries.push(upper);
    counts.push(bucket.count);
  }
  counts.push(0);
  return { boundaries, counts };
}

/** Index of the OTel bucket a value falls in: the first bound at or above it, else the overflow bucket. */
export function bucketIndex(boundaries: readonly number[], value: number): number {
  const index = boundaries.findIndex((bound) => value <= bound);
  return index === -1 ? boundaries.length : index;
}
