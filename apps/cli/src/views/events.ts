import { AT_EXIT_FIELD, type EventRecord } from '@fleettrace/contracts';
import { cellText, type Column } from './table';
import { styleFor, visibleLength } from './style';

/** Every events output keeps its time here, in nanoseconds since the epoch (catalog, bpftrace printf, C by default). */
export const EVENT_TIME_FIELD = 'time_ns';
/** The API sets it on every record: the host it came from. */
export const EVENT_HOST_FIELD = 'host';

/**
 * `18:40:12.345` in local time (UTC with `utc`), from nanoseconds since the epoch (a number or a
 * decimal string). Built from the Date's fields rather than toLocaleTimeString: the first Intl
 * call loads ICU's locale data, tens of ms that would delay the first event a tail prints.
 */
export function formatEventTime(value: unknown, utc = false): string {
  if (value === null || value === undefined || value === '') return '';
  let ms: number;
  try {
    ms = Number(BigInt(String(value)) / 1_000_000n);
  } catch {
    return String(value);
  }
  const date = new Date(ms);
  const [hours, minutes, seconds] = utc ? [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()] : [date.getHours(), date.getMinutes(), date.getSeconds()];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * The columns of an events table: the time, formatted, and the host first, then the record's own
 * fields: in `order` (the program's struct) where given, else in the order the records have them.
 */
export function eventColumns(records: readonly EventRecord[], timeField = EVENT_TIME_FIELD, order: readonly string[] = []): Column[] {
  const seen = new Set<string>();
  for (const record of records.slice(0, 50)) for (const field of Object.keys(record)) seen.add(field);
  const fields = [...order.filter((f) => seen.has(f)), ...[...seen].filter((f) => !order.includes(f))];
  const columns: Column[] = [];
  if (fields.includes(timeField)) columns.push({ key: 'time', header: 'TIME' });
  if (fields.includes(EVENT_HOST_FIELD)) columns.push({ key: EVENT_HOST_FIELD, header: 'HOST' });
  for (const field of fields) if (field !== timeField && field !== EVENT_HOST_FIELD) columns.push({ key: field, header: field.toUpperCase() });
  return columns;
}

/** A record as the events table shows it: its fields, and `time` formatted from the time field. */
export function eventRow(record: EventRecord, timeField = EVENT_TIME_FIELD): Record<string, unknown> {
  return timeField in record ? { ...record, time: formatEventTime(record[timeField]) } : record;
}

/**
 * The records an events table shows: not bpftrace's print of its maps at exit, which the results
 * draw from the run's typed outputs (the merged histogram, the top counts) after the events.
 */
export function tableRecords(records: readonly EventRecord[]): readonly EventRecord[] {
  return records.some((r) => r[AT_EXIT_FIELD] === true) ? records.filter((r) => r[AT_EXIT_FIELD] !== true) : records;
}

/**
 * An events table printed as records arrive (a tail): column widths are set by the first records
 * seen and grow when a later value is wider, so a line is never held back to learn the widths.
 */
export class EventTail {
  private widths: number[] = [];
  private headerPrinted = false;

  constructor(
    private readonly columns: readonly Column[],
    private readonly write: (line: string) => void,
    private readonly color = false,
  ) {}

  add(rows: readonly Record<string, unknown>[]): void {
    const texts = rows.map((row) => this.columns.map((c) => cellText(row[c.key]).replace(/\n/g, ' ')));
    if (!this.headerPrinted) {
      this.widths = this.columns.map((c, i) => Math.max(c.header.length, ...texts.map((t) => visibleLength(t[i]))));
      this.write(styleFor(this.color).bold(this.line(this.columns.map((c) => c.header))));
      this.headerPrinted = true;
    }
    for (const text of texts) {
      text.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i], visibleLength(cell))));
      this.write(this.line(text));
    }
  }

  private line(cells: string[]): string {
    return cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, this.widths[i] - visibleLength(cell)))))
      .join('  ')
      .trimEnd();
  }
}
