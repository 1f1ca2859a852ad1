import type { CountsOutput, EventsView, HistOutput, JobResultsView, OutputView, ProgramSpec, StacksOutput } from '@fleettrace/contracts';
import { UsageError } from '../errors';
import type { OutputStream } from '../io';
import type { HostSummary } from '../job/host-summary';
import { countsLines } from '../views/counts';
import { eventFieldsOf } from '../program/event-fields';
import { eventColumns, eventRow, tableRecords } from '../views/events';
import { histLines, percentileLines } from '../views/hist';
import { stacksLines } from '../views/stacks';
import { besideEachOther, renderTable } from '../views/table';
import { styleFor } from '../views/style';
import { allFields, selectColumns, type Dataset } from './dataset';
import { chooseColumns, printDocument, printRows, writeLines, type PrintOptions } from './printer';

export interface ResultsReport {
  results: JobResultsView;
  /** The line per host printed after the outputs. */
  summaries: HostSummary[];
  /** The job's program: it tells how its events are laid out. */
  program?: ProgramSpec;
  /** Events already printed as they arrived (a local run): the table view leaves them out at the end. */
  eventsStreamed?: boolean;
}

/** Each host's output of a name and kind, keyed by host id. */
function perHostOf<K extends OutputView['kind']>(results: JobResultsView, kind: K, name: string): Map<string, Extract<OutputView, { kind: K }>> {
  const found = new Map<string, Extract<OutputView, { kind: K }>>();
  for (const host of results.hosts) {
    const output = host.outputs.find((o) => o.kind === kind && o.name === name);
    if (output) found.set(host.hostId, output as Extract<OutputView, { kind: K }>);
  }
  return found;
}

/** Every output as rows, for -o csv and ndjson: `output` names the one a row belongs to. */
export function resultsDataset(results: JobResultsView): Dataset {
  const rows: Record<string, unknown>[] = [];
  for (const output of results.merged) {
    const base = { output: output.name, kind: output.kind };
    switch (output.kind) {
      case 'hist':
        for (const b of output.buckets) rows.push({ ...base, low: b.low, high: b.high, count: b.count });
        break;
      case 'counts':
        for (const e of output.entries) rows.push({ ...base, ...e.key, value: e.value });
        break;
      case 'stacks':
        for (const e of output.entries) rows.push({ ...base, stack: e.stack, value: e.value });
        break;
      case 'events':
        for (const record of output.records) rows.push({ ...base, ...record });
        break;
    }
  }
  const dataset: Dataset = { columns: [], rows };
  return { columns: allFields(dataset), rows };
}

export function hostSummaryLines(hosts: readonly HostSummary[], color: boolean): string[] {
  const style = styleFor(color);
  const rows = hosts.map((h) => ({
    ...h,
    state: h.state === 'succeeded' ? style.green(h.state) : h.state === 'running' || h.state === 'queued' ? h.state : style.red(h.state),
    seconds: h.seconds === null ? null : `${h.seconds.toFixed(1)}s`,
    error: h.error ?? '',
  }));
  return renderTable(
    [
      { key: 'host', header: 'HOST' },
      { key: 'state', header: 'STATE' },
      { key: 'events', header: 'EVENTS', align: 'right', thousands: true },
      { key: 'lost', header: 'LOST', align: 'right', thousands: true },
      { key: 'dropped', header: 'DROPPED', align: 'right', thousands: true },
      { key: 'seconds', header: 'TIME', align: 'right' },
      { key: 'error', header: 'ERROR' },
    ],
    rows,
    color,
  );
}

function eventsHeader(output: EventsView): string {
  const dropped = output.dropped > 0 ? ` (${output.dropped.toLocaleString('en-US')} past the cap, not kept)` : '';
  const shown = output.records.length < output.received - output.dropped ? `, ${output.records.length.toLocaleString('en-US')} shown` : '';
  return `@${output.name}: ${output.received.toLocaleString('en-US')} events${dropped}${shown}`;
}

function eventsLines(output: EventsView, program: ProgramSpec | undefined, fields: string | undefined, color: boolean): string[] {
  const header = eventsHeader(output);
  const records = tableRecords(output.records);
  if (records.length === 0) return [header];
  const layout = eventFieldsOf(program, output.name);
  const defaults = eventColumns(records, layout.timeField, layout.order);
  const rows = records.map((r) => eventRow(r, layout.timeField));
  const available = [...defaults.map((c) => c.key), layout.timeField].filter((k, i, all) => all.indexOf(k) === i);
  const keys = selectColumns(defaults.map((c) => c.key), available, fields);
  const columns = keys.map((key) => defaults.find((c) => c.key === key) ?? { key, header: key.toUpperCase() });
  return [header, ...renderTable(columns, rows, color)];
}

/** One output as a person reads it in a terminal. */
function outputLines(report: ResultsReport, output: OutputView, print: PrintOptions, out: OutputStream): string[] {
  const { results } = report;
  switch (output.kind) {
    case 'hist': {
      const hist = histLines(output as HistOutput);
      const stats = percentileLines(output as HistOutput, perHostOf(results, 'hist', output.name), out.color);
      const width = Math.max(...hist.map((l) => l.length)) + 3 + Math.max(...stats.map((l) => l.length));
      return out.columns !== undefined && width <= out.columns ? besideEachOther(hist, ['', ...stats]) : [...hist, '', ...stats];
    }
    case 'counts':
      return countsLines(output as CountsOutput, perHostOf(results, 'counts', output.name), print.limit, out.color);
    case 'stacks':
      return stacksLines(output as StacksOutput, print.limit, out.columns, out.color);
    case 'events':
      return report.eventsStreamed ? [eventsHeader(output)] : eventsLines(output, report.program, print.fields, out.color);
  }
}

/**
 * A job's results as -o asks: the API's JobResultsView itself for json and yaml; rows for csv and
 * ndjson; for a table, each merged output drawn (histograms as bpftrace does, with every host's
 * percentiles beside; top-N tables; events), then one line per host.
 */
export async function printResults(out: OutputStream, print: PrintOptions, report: ResultsReport): Promise<void> {
  const { results } = report;
  if (print.format === 'json' || print.format === 'yaml') return printDocument(out, print.format, results);
  if (print.format === 'csv' || print.format === 'ndjson') {
    const dataset = resultsDataset(results);
    // NDJSON events already went out one by one as they arrived.
    const rows = report.eventsStreamed && print.format === 'ndjson' ? dataset.rows.filter((row) => row.kind !== 'events') : dataset.rows;
    return printRows(out, print.format, chooseColumns({ columns: dataset.columns, rows }, print.fields));
  }
  if (print.fields !== undefined && !results.merged.some((o) => o.kind === 'events')) {
    throw new UsageError('--fields picks the columns of events tables; for other outputs use -o csv or -o ndjson');
  }
  const blocks = results.merged
    .map((output) => outputLines(report, output, print, out))
    .filter((lines) => lines.length > 0);
  if (blocks.length === 0) blocks.push(['(no outputs)']);
  const lines = blocks.flatMap((block, i) => (i === 0 ? block : ['', ...block]));
  writeLines(out, [...lines, '', ...hostSummaryLines(report.summaries, out.color)]);
}

