/**
 * The buckets of a log2 hist() in bpftrace's JSON. bpftrace lists the buckets from the first
 * non-empty one to the last, without gaps; bucket index 0 is (..., 0), 1 is [0], 2 is [1], and
 * k + 2 is [2^k, 2^(k+1)). bpftrace 0.17 writes the bounds with C int shifts, so past 2^31 they are
 * wrong (2^31 comes out as {min: -2147483648, max: 0}, 2^32 as {min: 1, max: 1}...): a bucket's
 * index is therefore taken from its place after the first bucket, never from its own bounds. Only
 * a hist whose first bucket lies at 2^32 or above cannot be told apart from one of small values.
 */
export interface JsonBucketBounds {
  min?: number;
  max?: number;
}

const INT_MIN = -2_147_483_648;
/** Index of the last bucket whose bounds bpftrace 0.17 writes right: [2^30, 2^31). */
const LAST_EXACT_INDEX = 32;

/** The log2 bucket index of each bucket, or undefined when they are not a log2 hist's. */
export function log2BucketIndices(buckets: readonly JsonBucketBounds[]): number[] | undefined {
  if (buckets.length === 0) return [];
  const first = indexOfBounds(buckets[0]);
  if (first === undefined) return undefined;
  const indices = buckets.map((_, i) => first + i);
  const exact = indices.every((index, i) => index > LAST_EXACT_INDEX || indexOfBounds(buckets[i]) === index);
  return exact ? indices : undefined;
}

function indexOfBounds({ min, max }: JsonBucketBounds): number | undefined {
  if (min === undefined) return max === -1 ? 0 : undefined;
  if (min === 0 && max === 0) return 1;
  if (min === 1 && max === 1) return 2;
  if (min === INT_MIN && max === 0) return 33;
  if (max === undefined || min < 2 || !Number.isInteger(Math.log2(min)) || max !== 2 * min - 1) return undefined;
  return Math.log2(min) + 2;
}

/** The values bucket `index` holds, [low, high); (..., 0) as [-Infinity, 0). */
export function log2BucketRange(index: number): { low: number; high: number } {
  if (index === 0) return { low: -Infinity, high: 0 };
  if (index === 1) return { low: 0, high: 1 };
  return { low: 2 ** (index - 2), high: 2 ** (index - 1) };
}
