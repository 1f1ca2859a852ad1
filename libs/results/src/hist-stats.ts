import type { BucketBounds, HistBucket, HistOutput, HistStats, Percentile } from '@fleettrace/contracts';

export type { BucketBounds, HistStats, Percentile };
import { ResultsQueryError } from './errors';
import { byCodeUnits } from './order';

/** A host whose p99 sits far above the fleet's. */
export interface HistOutlier {
  hostId: string;
  p99: Percentile;
  /** The host's p99 bound over the fleet's, on the bound compared (see `histOutliers`). */
  ratio: number;
}

/** How many times the fleet's p99 bound a host's must reach to be an outlier: two log2 buckets up. */
export const OUTLIER_FACTOR = 4;

function nonEmptyBuckets(hist: HistOutput): HistBucket[] {
  return hist.buckets.filter((b) => b.count > 0).sort((a, b) => a.low - b.low || a.high - b.high);
}

export function histCount(hist: HistOutput): number {
  return hist.buckets.reduce((sum, b) => sum + b.count, 0);
}

/**
 * The q-quantile (0 < q <= 1) of a histogram. Its rank is ceil(q × count), the rank-th smallest value
 * (1-based); the percentile is the smallest bucket whose cumulative count reaches that rank, so it is
 * the bucket that holds the rank-th value whichever way the values were split among hosts.
 * q = 1 is the highest non-empty bucket. null for an empty histogram.
 */
export function histPercentile(hist: HistOutput, q: number): Percentile | null {
  if (!(q > 0 && q <= 1)) throw new ResultsQueryError(`quantile must be in (0, 1], got ${q}`);
  const buckets = nonEmptyBuckets(hist);
  const count = buckets.reduce((sum, b) => sum + b.count, 0);
  if (count === 0) return null;
  const rank = percentileRank(q, count);
  let below = 0;
  for (const bucket of buckets) {
    if (below + bucket.count >= rank) {
      const slice = (bucket.high - bucket.low) / bucket.count;
      return { low: bucket.low, high: bucket.high, estimate: bucket.low + (rank - below - 0.5) * slice };
    }
    below += bucket.count;
  }
  // Unreachable: the last bucket's cumulative count is count >= rank.
  throw new Error('histogram ranks do not add up');
}

/** ceil(q × count), without the float product's error: 0.07 × 100 is 7.000000000000001, whose ceiling is 8. */
function percentileRank(q: number, count: number): number {
  const product = q * count;
  const nearest = Math.round(product);
  const rank = Math.abs(product - nearest) <= 4 * Number.EPSILON * product ? nearest : Math.ceil(product);
  return Math.max(1, rank);
}

export function histStats(hist: HistOutput): HistStats {
  return {
    count: histCount(hist),
    p50: histPercentile(hist, 0.5),
    p90: histPercentile(hist, 0.9),
    p99: histPercentile(hist, 0.99),
    max: histPercentile(hist, 1),
  };
}

/**
 * Hosts whose p99 bucket starts at least OUTLIER_FACTOR times higher than the fleet's p99 bucket
 * (the fleet's being the merge of all hosts). When the fleet's p99 bucket starts at 0 every low
 * bound is at least 4 × 0, so the high bounds are compared instead: with log2 buckets a fleet p99
 * in [0, 1) makes a host whose p99 is in [2, 4) or above an outlier, two buckets up as elsewhere.
 * Empty hosts are never outliers. Largest ratio first, ties by host id.
 */
export function histOutliers(perHost: ReadonlyMap<string, HistOutput>, merged: HistOutput): HistOutlier[] {
  const fleet = histPercentile(merged, 0.99);
  if (!fleet) return [];
  const bound = (p: BucketBounds) => (fleet.low > 0 ? p.low : p.high);
  const outliers: HistOutlier[] = [];
  for (const [hostId, hist] of perHost) {
    const p99 = histPercentile(hist, 0.99);
    if (!p99) continue;
    const ratio = bound(p99) / bound(fleet);
    if (ratio >= OUTLIER_FACTOR) outliers.push({ hostId, p99, ratio });
  }
  return outliers.sort((a, b) => b.ratio - a.ratio || byCodeUnits(a.hostId, b.hostId));
}
