import type { AggregateOutput, CountEntry, CountsOutput, EventRecord, HistOutput, StacksOutput } from '@fleettrace/contracts';
import { ResultsQueryError } from './errors';
import { histCount, histPercentile, type Percentile } from './hist-stats';
import { topLimit } from './limit';
import { countKey, sortCountEntries } from './merge';
import { byCodeUnits } from './order';

/** Numbers of two outputs only compare in the same unit (two jobs of one program always agree). */
function assertSameUnit(a: AggregateOutput, b: AggregateOutput): void {
  if (a.unit !== b.unit) throw new ResultsQueryError(`cannot compare "${a.name}" in ${a.unit} with "${b.name}" in ${b.unit}`);
}

/** One job's histogram: fleet-wide, and each host's keyed by host id. */
export interface JobHist {
  merged: HistOutput;
  perHost: ReadonlyMap<string, HistOutput>;
}

export interface PercentileShift {
  a: Percentile | null;
  b: Percentile | null;
  /** b's estimate over a's (2: twice as high in b); estimates, so a ratio of guesses. null when either side is empty. */
  ratio: number | null;
}

export interface HistShift {
  count: { a: number; b: number };
  p50: PercentileShift;
  p90: PercentileShift;
  p99: PercentileShift;
}

export interface HistComparison {
  name: string;
  unit: string;
  merged: HistShift;
  /** Only hosts that ran in both jobs: a host in one alone has nothing to shift from or to. */
  perHost: Record<string, HistShift>;
}

function percentileShift(a: HistOutput, b: HistOutput, q: number): PercentileShift {
  const pa = histPercentile(a, q);
  const pb = histPercentile(b, q);
  return { a: pa, b: pb, ratio: pa && pb && pa.estimate > 0 ? pb.estimate / pa.estimate : null };
}

function histShift(a: HistOutput, b: HistOutput): HistShift {
  return {
    count: { a: histCount(a), b: histCount(b) },
    p50: percentileShift(a, b, 0.5),
    p90: percentileShift(a, b, 0.9),
    p99: percentileShift(a, b, 0.99),
  };
}

/** How the percentiles moved from job a to job b, fleet-wide and on each host present in both. */
export function compareHist(a: JobHist, b: JobHist): HistComparison {
  assertSameUnit(a.merged, b.merged);
  const perHost: Array<[string, HistShift]> = [];
  for (const [hostId, histA] of a.perHost) {
    const histB = b.perHost.get(hostId);
    if (histB) perHost.push([hostId, histShift(histA, histB)]);
  }
  return {
    name: b.merged.name,
    unit: b.merged.unit,
    merged: histShift(a.merged, b.merged),
    perHost: Object.fromEntries(perHost.sort(([ha], [hb]) => byCodeUnits(ha, hb))),
  };
}

export interface CountDelta {
  key: EventRecord;
  /** 0 for a key that job a does not have, as b for one that b does not. */
  a: number;
  b: number;
  /** b − a. */
  delta: number;
  /** delta / a; null for a key new in b, which has nothing to be relative to. */
  relative: number | null;
}

export interface CountsComparison {
  name: string;
  unit: string;
  keyFields: string[];
  /** Every key of either job, the largest |delta| first, ties in key order. */
  deltas: CountDelta[];
  /** The first `limit` deltas that are not 0: new and gone keys move too, so they may be among them. */
  movers: CountDelta[];
  /** Keys job b has and job a does not, largest first. */
  onlyInB: CountEntry[];
  /** Keys job a had that job b does not, largest first. */
  onlyInA: CountEntry[];
}

/** Per-key change from job a to job b of fleet-wide counts; `limit` (20 unless given) bounds `movers`. */
export function compareCounts(a: CountsOutput, b: CountsOutput, options: { limit?: number } = {}): CountsComparison {
  assertSameUnit(a, b);
  const limit = topLimit(options.limit);
  const valuesOf = (output: CountsOutput) => {
    const values = new Map<string, CountEntry>();
    for (const entry of output.entries) {
      const key = countKey(entry.key);
      values.set(key, { key: entry.key, value: (values.get(key)?.value ?? 0) + entry.value });
    }
    return values;
  };
  const inA = valuesOf(a);
  const inB = valuesOf(b);

  const deltas: Array<[string, CountDelta]> = [];
  for (const key of new Set([...inA.keys(), ...inB.keys()])) {
    const va = inA.get(key)?.value ?? 0;
    const vb = inB.get(key)?.value ?? 0;
    const delta = vb - va;
    const entry = inB.get(key) ?? inA.get(key);
    if (entry) deltas.push([key, { key: entry.key, a: va, b: vb, delta, relative: va !== 0 ? delta / va : null }]);
  }
  deltas.sort(([ka, da], [kb, db]) => Math.abs(db.delta) - Math.abs(da.delta) || byCodeUnits(ka, kb));
  const ordered = deltas.map(([, d]) => d);

  return {
    name: b.name,
    unit: b.unit,
    keyFields: b.keyFields,
    deltas: ordered,
    movers: ordered.filter((d) => d.delta !== 0).slice(0, limit),
    onlyInB: sortCountEntries([...inB].filter(([key]) => !inA.has(key)).map(([, entry]) => entry)),
    onlyInA: sortCountEntries([...inA].filter(([key]) => !inB.has(key)).map(([, entry]) => entry)),
  };
}

/**
 * Two jobs' stacks as differential folded text, as FlameGraph's difffolded.pl writes it and
 * flamegraph.pl reads it: "stack valueA valueB" a line (0 where a job lacks the stack), in stack
 * order so the same two jobs always give the same text. Values are as measured, not normalized:
 * scale them first if the jobs ran for different lengths of time.
 */
export function diffFolded(a: StacksOutput, b: StacksOutput): string {
  assertSameUnit(a, b);
  const values = new Map<string, [number, number]>();
  for (const { stack, value } of a.entries) values.set(stack, [(values.get(stack)?.[0] ?? 0) + value, 0]);
  for (const { stack, value } of b.entries) {
    const seen = values.get(stack) ?? [0, 0];
    values.set(stack, [seen[0], seen[1] + value]);
  }
  return [...values]
    .sort(([sa], [sb]) => byCodeUnits(sa, sb))
    .map(([stack, [va, vb]]) => `${stack} ${va} ${vb}\n`)
    .join('');
}
