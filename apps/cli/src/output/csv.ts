import type { Dataset } from './dataset';

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLines(dataset: Dataset): string[] {
  return [dataset.columns.map(csvField).join(','), ...dataset.rows.map((row) => dataset.columns.map((c) => csvField(row[c])).join(','))];
}

/** Rows as NDJSON, each with only the dataset's columns, in that order. */
export function ndjsonLines(dataset: Dataset): string[] {
  return dataset.rows.map((row) => JSON.stringify(Object.fromEntries(dataset.columns.filter((c) => c in row).map((c) => [c, row[c]]))));
}
