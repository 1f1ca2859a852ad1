import type { EventRecord, ProgramSpec } from '@fleettrace/contracts';
import { eventFieldsOf } from '../program/event-fields';
import type { OutputStream } from '../io';
import type { PrintOptions } from '../output/printer';
import { selectColumns } from '../output/dataset';
import { EVENT_HOST_FIELD, EventTail, eventColumns, eventRow } from '../views/events';
import type { Column } from '../views/table';

/** Prints a run's events as they arrive: a table tail, or NDJSON lines. */
export interface EventStream {
  add(output: string, timeField: string, records: readonly EventRecord[]): void;
}

/**
 * The live form of the events for -o table and ndjson (csv needs every column before its header,
 * json and yaml are one document: they print at the end). Columns, and the --fields choice, are
 * settled by each output's first records. One host, so no host column.
 */
export function eventStreamFor(out: OutputStream, print: PrintOptions, program: ProgramSpec): EventStream | undefined {
  if (print.format === 'ndjson') {
    const columnsOf = new Map<string, string[] | undefined>();
    return {
      add(output, _timeField, records) {
        if (!columnsOf.has(output)) {
          const fields = ['output', 'kind', ...Object.keys(records[0] ?? {})];
          columnsOf.set(output, print.fields === undefined ? undefined : selectColumns(fields, fields, print.fields));
        }
        const columns = columnsOf.get(output);
        for (const record of records) {
          const row: Record<string, unknown> = { output, kind: 'events', ...record };
          out.write(`${JSON.stringify(columns ? Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]])) : row)}\n`);
        }
      },
    };
  }
  if (print.format !== 'table') return undefined;
  const tails = new Map<string, EventTail>();
  return {
    add(output, timeField, records) {
      let tail = tails.get(output);
      if (!tail) {
        const defaults = eventColumns(records, timeField, eventFieldsOf(program, output).order).filter((c) => c.key !== EVENT_HOST_FIELD);
        const available = [...defaults.map((c) => c.key), timeField];
        const keys = selectColumns(defaults.map((c) => c.key), available, print.fields);
        const columns: Column[] = keys.map((key) => defaults.find((c) => c.key === key) ?? { key, header: key.toUpperCase() });
        out.write(`${tails.size > 0 ? '\n' : ''}@${output}:\n`);
        tail = new EventTail(columns, (line) => out.write(`${line}\n`), out.color);
        tails.set(output, tail);
      }
      tail.add(records.map((record) => eventRow(record, timeField)));
    },
  };
}
