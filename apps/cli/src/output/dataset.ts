import { UsageError } from '../errors';

/**
 * Data as rows of named fields, the shape -o csv, ndjson and table print: `columns` are the ones
 * shown by default; a row may hold more (--fields can ask for them).
 */
export interface Dataset {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** The fields of the dataset's rows: the default columns first, then the others in the order rows have them. */
export function allFields(dataset: Dataset): string[] {
  const fields = [...dataset.columns];
  for (const row of dataset.rows) for (const field of Object.keys(row)) if (!fields.includes(field)) fields.push(field);
  return fields;
}

/**
 * `--fields a,b` shows those fields in that order; `--fields -c,-d` the default columns without
 * those. A field no row has is refused, listing the ones there are, so a typo is not an empty column.
 */
export function selectColumns(defaults: readonly string[], available: readonly string[], fieldsOption: string | undefined): string[] {
  if (fieldsOption === undefined) return [...defaults];
  const names = fieldsOption.split(',').map((f) => f.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--fields needs at least one field name');
  const unknown = names.map((n) => n.replace(/^-/, '')).filter((n) => !available.includes(n));
  if (unknown.length > 0) throw new UsageError(`--fields: no field ${unknown.map((n) => `"${n}"`).join(', ')} (fields: ${available.join(', ')})`);
  const dropped = names.filter((n) => n.startsWith('-')).map((n) => n.slice(1));
  const chosen = names.filter((n) => !n.startsWith('-'));
  if (dropped.length > 0 && chosen.length > 0) throw new UsageError('--fields either names the fields to show or drops some with -name, not both');
  return chosen.length > 0 ? chosen : defaults.filter((c) => !dropped.includes(c));
}
