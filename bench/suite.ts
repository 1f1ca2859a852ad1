// What a benchmark suite returns, and how results are shown and stored. Suites live beside the
// code they measure (e.g. libs/bpf-loader/bench/loader.bench.ts) and register in bench/run.ts.

/** Min and max over the repetitions a median was taken from, and every repetition in order. */
export interface Spread {
  min: number;
  max: number;
  samples: number[];
}

export interface Metric {
  name: string;
  /** The median over repetitions unless the name says otherwise. */
  value: number;
  unit: string;
  /** The same quantity measured for a baseline (e.g. a C implementation) in the same run. */
  reference?: { name: string; value: number; spread?: Spread };
  /** value / reference.value (1 when both are 0; null when only the reference is 0). */
  ratio?: number | null;
  spread?: Spread;
  /**
   * The acceptance target: on the ratio, or on the value itself where there is no reference (a
   * latency budget). Printed with whether it was met; never asserted.
   */
  target?: { op: '>=' | '<='; ratio: number } | { op: '>=' | '<='; value: number };
  note?: string;
}

export interface SuiteResult {
  metrics: Metric[];
}

export interface Suite {
  run(args: readonly string[]): Promise<SuiteResult>;
}

export function ratioOf(value: number, reference: number): number | null {
  if (reference === 0) return value === 0 ? 1 : null;
  return value / reference;
}

function format(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 1 ? 1 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function formatSpread(s: Spread | undefined): string {
  return s && s.samples.length > 1 ? ` [${format(s.min)}..${format(s.max)}]` : '';
}

function targetOf(m: Metric): [string, string] {
  if (!m.target) return ['', ''];
  const { op } = m.target;
  const [actual, wanted, shown] = 'value' in m.target ? [m.value, m.target.value, `${format(m.target.value)} ${m.unit}`] : [m.ratio, m.target.ratio, String(m.target.ratio)];
  const met = actual === null || actual === undefined || Number.isNaN(actual) ? '?' : (op === '>=' ? actual >= wanted : actual <= wanted) ? 'yes' : 'NO';
  return [`${op} ${shown}`, met];
}

/** One row per metric: medians with [min..max] over repetitions, the ratio, the target and whether it was met. */
export function renderTable(result: SuiteResult): string {
  const rows = [
    ['metric', 'ours [min..max]', 'reference [min..max]', 'ratio', 'target', 'met', 'note'],
    ...result.metrics.map((m) => [
      `${m.name} (${m.unit})`,
      `${format(m.value)}${formatSpread(m.spread)}`,
      m.reference ? `${format(m.reference.value)}${formatSpread(m.reference.spread)} (${m.reference.name})` : '-',
      m.ratio === null || m.ratio === undefined ? '-' : m.ratio.toFixed(3),
      ...targetOf(m),
      m.note ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}
