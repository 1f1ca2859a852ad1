import { createHash } from 'node:crypto';

/**
 * The seed of a sample that names none. Fixed on purpose: unseeded samples of the same fleet pick
 * the same hosts job after job, so repeated runs compare like with like. Pass a seed (a job id, a
 * date) to spread the work over other hosts.
 */
export const DEFAULT_SAMPLE_SEED = 'fleettrace';

/** How many of the matching hosts to keep: a count, or a percent rounded up. */
export type SampleSize = { count: number } | { percent: number };

export const SAMPLE_SYNTAX_MESSAGE = 'sample must be a count like 5 or a percent like "10%"';

export class SampleSyntaxError extends Error {
  override readonly name = 'SampleSyntaxError';

  constructor() {
    super(SAMPLE_SYNTAX_MESSAGE);
  }
}

const COUNT = /^\d+$/;
const PERCENT = /^(\d+(?:\.\d+)?)%$/;

/** A sample as a request or the CLI gives it: 5, "5" or "12.5%" (above 0, at most 100). */
export function parseSample(sample: string | number): SampleSize {
  if (typeof sample === 'number') {
    if (Number.isSafeInteger(sample) && sample >= 1) return { count: sample };
    throw new SampleSyntaxError();
  }
  if (COUNT.test(sample)) return parseSample(Number(sample));
  const percent = PERCENT.exec(sample);
  if (percent && Number(percent[1]) > 0 && Number(percent[1]) <= 100) return { percent: Number(percent[1]) };
  throw new SampleSyntaxError();
}

/**
 * How many of `candidates` hosts a sample keeps: never more than there are, and never none when
 * there are some. Percents are rounded up exactly: 10% of 30 is 3, though 0.1 * 30 is 3.0000000000000004.
 */
export function sampleCount(sample: SampleSize, candidates: number): number {
  if ('count' in sample) return Math.min(sample.count, candidates);
  const [numerator, denominator] = exactFraction(sample.percent);
  const scaled = BigInt(candidates) * numerator;
  const whole = 100n * denominator;
  return Number((scaled + whole - 1n) / whole);
}

/** A finite non-negative number as numerator / denominator, read from its shortest decimal form. */
function exactFraction(value: number): [bigint, bigint] {
  const [mantissa, exponent = '0'] = String(value).split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  const shift = Number(exponent) - fraction.length;
  const digits = BigInt(whole + fraction);
  return shift >= 0 ? [digits * 10n ** BigInt(shift), 1n] : [digits, 10n ** BigInt(-shift)];
}

export interface HostSelectionOptions {
  sample?: string | number;
  /** DEFAULT_SAMPLE_SEED when absent. */
  seed?: string;
  /** A cap applied after sampling, in the same order, so it is as stable as the sample. */
  maxHosts?: number;
}

/**
 * The hosts to run on among `candidateIds` (the ones the selector matched), sorted by id.
 *
 * Each host's place is the sha256 of the seed and its id, and the first hosts in that order are
 * taken. A host's place depends on nothing else, so adding or removing another host moves the
 * choice by at most the one slot that host took or the count gained or lost, never reshuffles it.
 */
export function selectHosts(candidateIds: readonly string[], options: HostSelectionOptions = {}): string[] {
  const { maxHosts } = options;
  if (maxHosts !== undefined && !(Number.isSafeInteger(maxHosts) && maxHosts >= 1)) {
    throw new RangeError('maxHosts must be a whole number of at least 1');
  }
  const ordered = seededOrder([...new Set(candidateIds)], options.seed);
  const sampled = options.sample === undefined ? ordered.length : sampleCount(parseSample(options.sample), ordered.length);
  const kept = Math.min(sampled, maxHosts ?? sampled);
  return ordered.slice(0, kept).sort();
}

/**
 * The ids in their seeded place order (the order sampling takes them in): stable for a seed, and a
 * host's place does not depend on the others. A rollout takes its canaries and batches in it.
 */
export function seededOrder(ids: readonly string[], seed: string = DEFAULT_SAMPLE_SEED): string[] {
  return ids
    .map((id) => ({ id, place: createHash('sha256').update(`${seed}\u0000${id}`).digest('hex') }))
    .sort((a, b) => compareText(a.place, b.place) || compareText(a.id, b.id))
    .map(({ id }) => id);
}

/** Code-unit order, the same in every locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
