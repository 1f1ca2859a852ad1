import type { HistBucket, HistOutput } from '@fleettrace/contracts';
import { histOutliers, histStats, type BucketBounds, type Percentile } from '@fleettrace/results';
import { renderTable } from './table';

/** bpftrace's bar: 52 `@` for the fullest bucket. */
const BAR_WIDTH = 52;
/** Bounds bpftrace gives buckets below or above an lhist's range (see the runner's bpftrace-output.ts). */
const BELOW = -Number.MAX_SAFE_INTEGER;
const ABOVE = Number.MAX_SAFE_INTEGER;

const SUFFIXES: ReadonlyArray<[number, string]> = [
  [2 ** 40, 'T'],
  [2 ** 30, 'G'],
  [2 ** 20, 'M'],
  [2 ** 10, 'K'],
];

/** A bucket bound as bpftrace prints it: 1024 is 1K, 3 × 2^20 is 3M, 1000 stays 1000. */
export function boundLabel(value: number): string {
  if (value === 0) return '0';
  for (const [size, suffix] of SUFFIXES) if (value % size === 0) return `${value / size}${suffix}`;
  return String(value);
}

/** `[0]`, `[2, 4)`, `[2K, 4K)`, `(..., 0)`, `[100, ...)`: a bucket as bpftrace labels it. */
export function bucketLabel(bucket: BucketBounds): string {
  if (bucket.low <= BELOW) return `(..., ${boundLabel(bucket.high)})`;
  if (bucket.high >= ABOVE) return `[${boundLabel(bucket.low)}, ...)`;
  if (bucket.high - bucket.low === 1) return `[${boundLabel(bucket.low)}]`;
  return `[${boundLabel(bucket.low)}, ${boundLabel(bucket.high)})`;
}

/** The bucket after `bucket` in its histogram's scheme: log2 doubles, linear keeps its width. */
function nextBucket(bucket: HistBucket, log2: boolean): HistBucket {
  if (log2) return { low: bucket.high, high: bucket.high * 2, count: 0 };
  return { low: bucket.high, high: bucket.high + (bucket.high - bucket.low), count: 0 };
}

function isLog2(buckets: readonly HistBucket[]): boolean {
  return buckets.every((b) => b.low >= 0 && b.high < ABOVE && (b.low === 0 ? b.high <= 2 : b.high === 2 * b.low));
}

function isLinear(buckets: readonly HistBucket[]): boolean {
  const inner = buckets.filter((b) => b.low > BELOW && b.high < ABOVE);
  return inner.length > 0 && inner.every((b) => b.high - b.low === inner[0].high - inner[0].low);
}

/**
 * Every bucket from the lowest to the highest non-empty one, the empty ones between included (the
 * wire format leaves them out; bpftrace prints them, and the shape reads wrong without them).
 */
export function contiguousBuckets(hist: HistOutput): HistBucket[] {
  const buckets = [...hist.buckets].filter((b) => b.count > 0).sort((a, b) => a.low - b.low);
  const log2 = isLog2(buckets);
  if (!log2 && !isLinear(buckets)) return buckets;
  const filled: HistBucket[] = [];
  for (const bucket of buckets) {
    const previous = filled.at(-1);
    if (previous && previous.low > BELOW) {
      for (let gap = nextBucket(previous, log2); gap.high <= bucket.low && filled.length < 4096; gap = nextBucket(gap, log2)) filled.push(gap);
    }
    filled.push(bucket);
  }
  return filled;
}

/**
 * A histogram drawn as bpftrace draws one:
 *   @latency (us):
 *   [0]                    3 |@@@@                                                |
 *   [2, 4)                12 |@@@@@@@@@@@@@@@@@                                   |
 */
export function histLines(hist: HistOutput): string[] {
  const buckets = contiguousBuckets(hist);
  const header = `@${hist.name}${hist.unit && hist.unit !== 'value' ? ` (${hist.unit})` : ''}:`;
  if (buckets.length === 0) return [header, '(no values)'];
  const max = Math.max(...buckets.map((b) => b.count));
  return [
    header,
    ...buckets.map((b) => {
      const bar = '@'.repeat(max > 0 ? Math.floor((b.count / max) * BAR_WIDTH) : 0);
      return `${bucketLabel(b).padEnd(16)}${String(b.count).padStart(8)} |${bar.padEnd(BAR_WIDTH)}|`;
    }),
  ];
}

function percentileCell(p: Percentile | null): string {
  return p ? bucketLabel(p) : '-';
}

/**
 * The fleet's and each host's count and percentiles, as the buckets that hold them (a histogram
 * knows no more). Hosts whose p99 sits far above the fleet's are starred.
 */
export function percentileLines(merged: HistOutput, perHost: ReadonlyMap<string, HistOutput>, color = false): string[] {
  const outliers = new Set(histOutliers(perHost, merged).map((o) => o.hostId));
  const row = (host: string, hist: HistOutput) => {
    const stats = histStats(hist);
    return {
      host: outliers.has(host) ? `${host} *` : host,
      count: stats.count,
      p50: percentileCell(stats.p50),
      p90: percentileCell(stats.p90),
      p99: percentileCell(stats.p99),
      max: percentileCell(stats.max),
    };
  };
  const rows = [...(perHost.size > 1 ? [row('fleet', merged)] : []), ...[...perHost].sort(([a], [b]) => (a < b ? -1 : 1)).map(([host, hist]) => row(host, hist))];
  const lines = renderTable(
    [
      { key: 'host', header: 'HOST' },
      { key: 'count', header: 'COUNT', align: 'right', thousands: true },
      { key: 'p50', header: 'P50', align: 'right' },
      { key: 'p90', header: 'P90', align: 'right' },
      { key: 'p99', header: 'P99', align: 'right' },
      { key: 'max', header: 'MAX', align: 'right' },
    ],
    rows,
    color,
  );
  return outliers.size > 0 ? [...lines, "* p99 at least 4x the fleet's"] : lines;
}
