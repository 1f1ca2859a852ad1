import { writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { CountDeltaView, CountsComparisonView, HistComparisonView, HistShiftView, JobComparisonView, PercentileShiftView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { CliError, ExitCode } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { positiveInteger, printData, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { bucketLabel } from '../../views/hist';
import { styleFor } from '../../views/style';
import { renderTable } from '../../views/table';
import { jobIdArgument } from './job-id';

type Stacks = Extract<JobComparisonView['outputs'][number], { kind: 'stacks' }>;

function percentileText(shift: PercentileShiftView): string {
  return `${shift.a ? bucketLabel(shift.a) : '-'} → ${shift.b ? bucketLabel(shift.b) : '-'}`;
}

function ratioText(ratio: number | null): string {
  return ratio === null ? '' : `×${ratio.toFixed(2)}`;
}

function shiftRow(host: string, shift: HistShiftView): Record<string, unknown> {
  return {
    host,
    count: `${shift.count.a.toLocaleString('en-US')} → ${shift.count.b.toLocaleString('en-US')}`,
    p50: `${percentileText(shift.p50)} ${ratioText(shift.p50.ratio)}`.trim(),
    p90: `${percentileText(shift.p90)} ${ratioText(shift.p90.ratio)}`.trim(),
    p99: `${percentileText(shift.p99)} ${ratioText(shift.p99.ratio)}`.trim(),
  };
}

/** The fleet's percentile shifts, then each host's that ran in both jobs. */
function histLines(name: string, hist: HistComparisonView, color: boolean): string[] {
  const rows = [shiftRow('fleet', hist.merged), ...Object.entries(hist.perHost).sort(([a], [b]) => (a < b ? -1 : 1)).map(([host, shift]) => shiftRow(host, shift))];
  const unit = hist.unit && hist.unit !== 'value' ? ` (${hist.unit})` : '';
  return [`@${name}${unit}: A → B`, ...renderTable(['host', 'count', 'p50', 'p90', 'p99'].map((key) => ({ key, header: key.toUpperCase() })), rows, color)];
}

function keyText(delta: { key: Record<string, unknown> }): string {
  return Object.values(delta.key).map(String).join(' ');
}

function relativeText(delta: CountDeltaView): string {
  return delta.relative === null ? 'new' : `${delta.relative >= 0 ? '+' : ''}${(delta.relative * 100).toFixed(1)}%`;
}

/** The keys that moved most, then what appeared and what went. */
function countsLines(name: string, counts: CountsComparisonView, color: boolean): string[] {
  const style = styleFor(color);
  const rows = counts.movers.map((delta) => ({
    ...Object.fromEntries(counts.keyFields.map((field) => [`key.${field}`, delta.key[field]])),
    a: delta.a,
    b: delta.b,
    delta: `${delta.delta >= 0 ? '+' : ''}${delta.delta.toLocaleString('en-US')}`,
    change: delta.delta > 0 ? style.red(relativeText(delta)) : delta.delta < 0 ? style.green(relativeText(delta)) : relativeText(delta),
  }));
  const columns = [
    ...counts.keyFields.map((field) => ({ key: `key.${field}`, header: field.toUpperCase() })),
    { key: 'a', header: 'A', align: 'right' as const, thousands: true },
    { key: 'b', header: 'B', align: 'right' as const, thousands: true },
    { key: 'delta', header: 'DELTA', align: 'right' as const },
    { key: 'change', header: 'CHANGE', align: 'right' as const },
  ];
  const lines = [`@${name}: top movers A → B`, ...(rows.length > 0 ? renderTable(columns, rows, color) : ['(no change)'])];
  const list = (entries: CountsComparisonView['onlyInA']) => entries.slice(0, 5).map(keyText).join(', ') + (entries.length > 5 ? ', …' : '');
  if (counts.onlyInB.length > 0) lines.push(`only in B: ${counts.onlyInB.length} key${counts.onlyInB.length === 1 ? '' : 's'} (${list(counts.onlyInB)})`);
  if (counts.onlyInA.length > 0) lines.push(`only in A: ${counts.onlyInA.length} key${counts.onlyInA.length === 1 ? '' : 's'} (${list(counts.onlyInA)})`);
  return lines;
}

function stacksLines(stacks: Stacks, file: string | undefined): string[] {
  const count = stacks.diffFolded.split('\n').filter(Boolean).length;
  return [`@${stacks.name}: ${count.toLocaleString('en-US')} stacks compared${file ? `, written to ${file}` : ' (--diff-folded FILE writes them for difffolded.pl)'}`];
}

/** The comparison as a person reads it; `files` says where --diff-folded wrote each stacks output. */
export function comparisonLines(comparison: JobComparisonView, files: ReadonlyMap<string, string>, color = false): string[] {
  const blocks = comparison.outputs.map((output) => {
    if (output.kind === 'hist') return histLines(output.name, output.hist, color);
    if (output.kind === 'counts') return countsLines(output.name, output.counts, color);
    return stacksLines(output, files.get(output.name));
  });
  const only = [
    ...(comparison.onlyInA.length > 0 ? [`only in A: ${comparison.onlyInA.map((n) => `@${n}`).join(', ')}`] : []),
    ...(comparison.onlyInB.length > 0 ? [`only in B: ${comparison.onlyInB.map((n) => `@${n}`).join(', ')}`] : []),
  ];
  const body = [...blocks, ...(only.length > 0 ? [only] : [])];
  return [`A ${comparison.a}`, `B ${comparison.b}`, ...body.flatMap((block) => ['', ...block])];
}

/** Rows for -o csv / ndjson: a row per host and percentile shift, and one per count that moved. */
export function comparisonDataset(comparison: JobComparisonView): Dataset {
  const rows: Record<string, unknown>[] = [];
  for (const output of comparison.outputs) {
    if (output.kind === 'hist') {
      const hosts: Array<[string, HistShiftView]> = [['fleet', output.hist.merged], ...Object.entries(output.hist.perHost)];
      for (const [host, shift] of hosts) {
        for (const p of ['p50', 'p90', 'p99'] as const) {
          rows.push({ output: output.name, kind: 'hist', host, stat: p, a: shift[p].a?.estimate ?? null, b: shift[p].b?.estimate ?? null, ratio: shift[p].ratio });
        }
      }
    } else if (output.kind === 'counts') {
      for (const delta of output.counts.deltas) rows.push({ output: output.name, kind: 'counts', key: keyText(delta), a: delta.a, b: delta.b, delta: delta.delta, ratio: delta.relative });
    }
  }
  return { columns: ['output', 'kind', 'host', 'stat', 'key', 'a', 'b', 'delta', 'ratio'], rows };
}

/** Where --diff-folded writes each stacks output: FILE itself for one, FILE with the output's name before its extension for several. */
function diffFiles(file: string, stacks: readonly Stacks[]): Map<string, string> {
  if (stacks.length === 1) return new Map([[stacks[0].name, file]]);
  const ext = extname(file);
  return new Map(stacks.map((s) => [s.name, join(dirname(file), `${basename(file, ext)}-${s.name}${ext}`)]));
}

/**
 * Two jobs of one program side by side: each histogram's percentile shifts (fleet and per host),
 * the counts that moved most and the keys only one job saw, and for stacks a differential folded
 * file (`--diff-folded`) for flamegraph's difffolded.pl.
 */
export const compare: CommandHandler = async (input, io) => {
  const print = printOptions({ ...input.options, limit: undefined });
  const a = jobIdArgument(input.args, 0, 'job A');
  const b = jobIdArgument(input.args, 1, 'job B');
  const top = input.options.top === undefined ? undefined : positiveInteger(input.options.top, '--top', 20, 1, 1000);
  const diffFolded = input.options.diffFolded === undefined ? undefined : resolve(io.cwd, String(input.options.diffFolded));
  const comparison = await withClient(input, io, (client) => client.compare(a, b, top));
  const stacks = comparison.outputs.filter((o): o is Stacks => o.kind === 'stacks');
  if (diffFolded && stacks.length === 0) throw new CliError(`--diff-folded: ${comparison.program} has no stacks output to compare`);
  const files = diffFolded ? diffFiles(diffFolded, stacks) : new Map<string, string>();
  for (const s of stacks) {
    const file = files.get(s.name);
    if (file) writeFileSync(file, s.diffFolded);
  }
  await printData(io.stdout, print, comparison, comparisonDataset(comparison), () => comparisonLines(comparison, files, io.stdout.color));
  for (const [name, file] of files) io.stderr.write(`wrote the differential stacks of @${name} to ${file}\n`);
  return ExitCode.ok;
};
