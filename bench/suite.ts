// What a benchmark suite returns, and how results are shown and stored. Suites live beside the
// code they measure (e.g. libs/bpf-loader/bench/loader.bench.ts) and register in bench/run.ts.

export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The same quantity measured for a baseline (e.g. a C implementation) in the same run. */
  reference?: { name: string; value: number };
  /** value / reference.value (1 when both are 0; null when only the reference is 0). */
  ratio?: number | null;
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
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function renderTable(result: SuiteResult): string {
  const rows = [
    ['metric', 'ours', 'reference', 'ratio'],
    ...result.metrics.map((m) => [
      `${m.name} (${m.unit})`,
      format(m.value),
      m.reference ? `${format(m.reference.value)} (${m.reference.name})` : '-',
      format(m.ratio),
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join('  ')).join('\n');
}
