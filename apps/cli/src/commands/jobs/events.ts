import type { EventItem, EventRecord } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import { chooseColumns, printDocument, printOptions, printRows, writeLines } from '../../output/printer';
import { eventFieldsOf } from '../../program/event-fields';
import type { CommandHandler } from '../../spec';
import { EVENT_HOST_FIELD, eventColumns, eventRow } from '../../views/events';
import { renderTable } from '../../views/table';
import { jobIdArgument } from './job-id';
import { fetchPages, morePages, pagingOf } from './paging';
import { EVENTS_PAGE } from './paging-options';

/** What the API takes as a field name in `field.<name>=<value>`. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;

/** `--field pid=42` (repeatable) as the API's `field.pid=42` filters. */
export function fieldFilters(pairs: readonly string[]): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (at < 0 || !FIELD_NAME.test(name)) throw new UsageError(`--field must be NAME=VALUE, like --field pid=42, got "${pair}"`);
    if (`field.${name}` in filters) throw new UsageError(`--field ${name} is given twice`);
    filters[`field.${name}`] = pair.slice(at + 1);
  }
  return filters;
}

/** An event as the table shows it: its record, with the host it came from. */
function recordOf(item: EventItem): EventRecord {
  return { ...item.record, [EVENT_HOST_FIELD]: item.hostId };
}

/**
 * A job's events in time order, filtered by host, output, text and field values: a page (or every
 * page with --all) as a table, csv or json; -o ndjson streams every event as the API sends them.
 */
export const events: CommandHandler = async (input, io) => {
  const { options } = input;
  const print = printOptions({ ...options, limit: undefined });
  const id = jobIdArgument(input.args);
  const paging = pagingOf(options, EVENTS_PAGE.max, EVENTS_PAGE.fallback);
  const fieldPairs = Array.isArray(options.field) ? (options.field as string[]) : [];
  const filters = {
    host: options.host as string | undefined,
    output: options.output as string | undefined,
    contains: options.contains as string | undefined,
    ...fieldFilters(fieldPairs),
  };
  if (print.format === 'ndjson') {
    if (options.limit !== undefined || options.cursor !== undefined || options.fields !== undefined) {
      throw new UsageError('-o ndjson streams every event as the API sends them: drop --limit, --cursor and --fields');
    }
    await withClient(input, io, (client) => client.eventLines(id, filters, (line) => io.stdout.write(`${line}\n`)));
    return ExitCode.ok;
  }
  const [job, page] = await withClient(input, io, async (client) =>
    Promise.all([client.job(id), fetchPages(paging, (cursor) => client.events(id, { ...filters, limit: paging.limit, cursor }))]),
  );
  if (print.format === 'json' || print.format === 'yaml') {
    await printDocument(io.stdout, print.format, page);
  } else {
    const output = page.items[0]?.output;
    const layout = eventFieldsOf(job.program, output ?? '');
    const records = page.items.map(recordOf);
    const columns = eventColumns(records, layout.timeField, layout.order);
    if (print.format === 'csv') {
      printRows(io.stdout, 'csv', chooseColumns({ columns: [layout.timeField, ...columns.map((c) => c.key).filter((k) => k !== 'time')], rows: records }, print.fields));
    } else {
      const chosen = chooseColumns({ columns: columns.map((c) => c.key), rows: records.map((r) => eventRow(r, layout.timeField)) }, print.fields);
      const header = chosen.columns.map((key) => columns.find((c) => c.key === key) ?? { key, header: key.toUpperCase() });
      writeLines(io.stdout, records.length === 0 ? ['no events'] : [`@${output}:`, ...renderTable(header, chosen.rows, io.stdout.color)]);
    }
  }
  const more = morePages(`fleettrace jobs events ${id}`, page.nextCursor);
  if (more) io.stderr.write(`${more}\n`);
  return ExitCode.ok;
};
