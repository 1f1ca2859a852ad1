// Medians, spreads and the metric shape bench/run.ts prints (bench/suite.ts), declared here rather
// than imported: libraries do not import from the repository's tooling.

export interface Spread {
  min: number;
  max: number;
  /** Every repetition, in the order run. */
  samples: number[];
}

export interface Metric {
  name: string;
  value: number;
  unit: string;
  reference: { name: string; value: number; spread?: Spread };
  ratio: number | null;
  spread?: Spread;
  /** The acceptance target on the ratio, e.g. `{ op: '<=', ratio: 0.05 }`; informational only. */
  target?: { op: '>=' | '<='; ratio: number };
  note?: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The nearest-rank percentile (0 < p <= 100): the smallest sample at least p % of the samples are
 * at or below. Never interpolated, so it is always a value that was measured; with fewer than 100
 * samples p99 is the largest.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.ceil((p * s.length) / 100) - 1]!;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export function spreadOf(values: readonly number[]): Spread {
  return { min: Math.min(...values), max: Math.max(...values), samples: [...values] };
}

export function ratioOf(value: number, reference: number): number | null {
  if (reference === 0) return value === 0 ? 1 : null;
  return value / reference;
}

/** A metric from the repetitions of both sides: medians, their ratio, and each side's spread. */
export function metricOf(
  name: string,
  unit: string,
  ours: readonly number[],
  referenceName: string,
  reference: readonly number[],
  extra: Pick<Metric, 'target' | 'note'> = {},
): Metric {
  const value = median(ours);
  const ref = median(reference);
  return {
    name,
    value,
    unit,
    reference: { name: referenceName, value: ref, spread: spreadOf(reference) },
    ratio: ratioOf(value, ref),
    spread: spreadOf(ours),
    ...extra,
  };
}

/** Runs `sides` alternately, `reps` times, swapping who goes first each repetition. */
export async function alternate<K extends string, S>(
  reps: number,
  sides: Record<K, () => Promise<S>>,
  onSample: (side: K, rep: number, sample: S) => void,
): Promise<Record<K, S[]>> {
  const names = Object.keys(sides) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as S[]])) as Record<K, S[]>;
  for (let rep = 0; rep < reps; rep++) {
    const shift = rep % names.length;
    const order = [...names.slice(shift), ...names.slice(0, shift)];
    for (const side of order) {
      const sample = await sides[side]();
      out[side].push(sample);
      onSample(side, rep, sample);
    }
  }
  return out;
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
