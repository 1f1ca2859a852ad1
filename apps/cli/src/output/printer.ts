import { UsageError } from '../errors';
import type { OutputStream } from '../io';
import { OUTPUT_FORMATS, type OutputFormat } from '../options';
import type { CommandInput } from '../spec';
import { csvLines, ndjsonLines } from './csv';
import { allFields, selectColumns, type Dataset } from './dataset';
import { renderTable } from '../views/table';

/** How the data of one command is printed: -o, --fields and --limit, read once. */
export interface PrintOptions {
  format: OutputFormat;
  fields: string | undefined;
  limit: number;
}

export const DEFAULT_LIMIT = 20;

export function printOptions(options: CommandInput['options']): PrintOptions {
  const format = (options.format as OutputFormat | undefined) ?? 'table';
  if (!OUTPUT_FORMATS.includes(format)) throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}`);
  if (options.fields !== undefined && (format === 'json' || format === 'yaml')) {
    throw new UsageError(`--fields applies to -o table, csv and ndjson; -o ${format} prints every field`);
  }
  return { format, fields: options.fields as string | undefined, limit: positiveInteger(options.limit, '--limit', DEFAULT_LIMIT) };
}

export function positiveInteger(value: unknown, flag: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}, got "${text}"`);
  }
  return n;
}

export function writeLines(out: OutputStream, lines: readonly string[]): void {
  if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
}

export async function printDocument(out: OutputStream, format: 'json' | 'yaml', value: unknown): Promise<void> {
  if (format === 'json') {
    out.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const { stringify } = await import('yaml');
  out.write(stringify(value));
}

/** A dataset with the --fields selection applied; the table format is the caller's own rendering. */
export function chooseColumns(dataset: Dataset, fields: string | undefined): Dataset {
  return { columns: selectColumns(dataset.columns, allFields(dataset), fields), rows: dataset.rows };
}

export function printRows(out: OutputStream, format: 'csv' | 'ndjson', dataset: Dataset): void {
  writeLines(out, format === 'csv' ? csvLines(dataset) : ndjsonLines(dataset));
}


/** A dataset as a table: the columns' names upper-cased for headers. */
export function tableLines(dataset: Dataset, color: boolean): string[] {
  return renderTable(dataset.columns.map((key) => ({ key, header: key.toUpperCase() })), dataset.rows, color);
}

/**
 * Data as -o asks: `document` (the API's answer, untouched) for json and yaml; the dataset's rows
 * (--fields applied) for csv and ndjson; for a table, `table` of the chosen columns, by default a
 * plain table of them.
 */
export async function printData(
  out: OutputStream,
  print: PrintOptions,
  document: unknown,
  dataset: Dataset,
  table: (chosen: Dataset) => string[] = (chosen) => tableLines(chosen, out.color),
): Promise<void> {
  if (print.format === 'json' || print.format === 'yaml') return printDocument(out, print.format, document);
  const chosen = chooseColumns(dataset, print.fields);
  if (print.format === 'csv' || print.format === 'ndjson') return printRows(out, print.format, chosen);
  writeLines(out, table(chosen));
}
