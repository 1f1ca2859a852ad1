import type { EventRecord, ProgramSpec } from '@fleettrace/contracts';
import { eventFieldsOf } from '../program/event-fields';
import type { OutputStream } from '../io';
import type { PrintOptions } from './printer';
import { selectColumns } from './dataset';
import { EVENT_HOST_FIELD, EventTail, eventColumns, eventRow, tableRecords } from '../views/events';
import type { Column } from '../views/table';

/** Prints a run's events as they arrive: a table tail, or NDJSON lines. */
export interface EventStream {
  add(output: string, timeField: string, records: readonly EventRecord[]): void;
}

export interface EventStreamOptions {
  /** Records come from several hosts: keep their host column (a local run's are all this host's). */
  hosts: boolean;
  /** Where lines go: `out` itself by default; a fleet run writes them above its live progress. */
  write?: (text: string) => void;
}

/**
 * The live form of the events for -o table and ndjson (csv needs every column before its header,
 * json and yaml are one document: they print at the end). Columns, and the --fields choice, are
 * settled by each output's first records.
 */
export function eventStreamFor(out: OutputStream, print: PrintOptions, program: ProgramSpec, options: EventStreamOptions): EventStream | undefined {
  const write = options.write ?? ((text: string) => out.write(text));
  if (print.format === 'ndjson') {
    const columnsOf = new Map<string, string[] | undefined>();
    return {
      add(output, _timeField, records) {
        if (!columnsOf.has(output)) {
          const fields = ['output', 'kind', ...Object.keys(records[0] ?? {})];
          columnsOf.set(output, print.fields === undefined ? undefined : selectColumns(fields, fields, print.fields));
        }
        const columns = columnsOf.get(output);
        const lines: string[] = [];
        for (const record of records) {
          const row: Record<string, unknown> = { output, kind: 'events', ...record };
          lines.push(JSON.stringify(columns ? Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]])) : row));
        }
        if (lines.length > 0) write(`${lines.join('\n')}\n`);
      },
    };
  }
  if (print.format !== 'table') return undefined;
  const tails = new Map<string, EventTail>();
  // The tails' lines of one batch, written at once (above a live progress region: one redraw per batch).
  const lines: string[] = [];
  return {
    add(output, timeField, batch) {
      const records = tableRecords(batch);
      if (records.length === 0) return;
      let tail = tails.get(output);
      if (!tail) {
        const defaults = eventColumns(records, timeField, eventFieldsOf(program, output).order).filter((c) => options.hosts || c.key !== EVENT_HOST_FIELD);
        const available = [...defaults.map((c) => c.key), timeField];
        const keys = selectColumns(defaults.map((c) => c.key), available, print.fields);
        const columns: Column[] = keys.map((key) => defaults.find((c) => c.key === key) ?? { key, header: key.toUpperCase() });
        lines.push(`${tails.size > 0 ? '\n' : ''}@${output}:`);
        tail = new EventTail(columns, (line) => lines.push(line), out.color);
        tails.set(output, tail);
      }
      tail.add(records.map((record) => eventRow(record, timeField)));
      if (lines.length > 0) write(`${lines.splice(0).join('\n')}\n`);
    },
  };
}
