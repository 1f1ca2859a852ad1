import type { Attributes } from '@opentelemetry/api';
import type { CountEntry } from '@fleettrace/contracts';
import { sortCountEntries } from '@fleettrace/results';

/** Every attribute of the series that sums the keys past the top N holds this value. */
export const OTHER_SERIES = 'other';

export interface CountSeries {
  attributes: Attributes;
  value: number;
}

/**
 * A run's counts as at most top + 1 series: the largest keys each on their own (key fields as
 * attributes, named by `attributes`), the rest summed into one `other` series. The bound holds per
 * host, because a run is one host: a pid-keyed map must not become a series per pid in Grafana.
 */
export function countSeries(entries: readonly CountEntry[], attributes: Readonly<Record<string, string>>, top: number): CountSeries[] {
  const sorted = sortCountEntries(entries);
  const series = sorted.slice(0, top).map((entry) => ({ attributes: keyAttributes(entry, attributes), value: entry.value }));
  const rest = sorted.slice(top);
  if (rest.length > 0) {
    const other = Object.fromEntries([...new Set(Object.values(attributes))].map((key) => [key, OTHER_SERIES]));
    series.push({ attributes: other, value: rest.reduce((sum, entry) => sum + entry.value, 0) });
  }
  return series;
}

/** Key fields mapped to the same attribute are joined with `;`, in key order (the folded-stack case). */
function keyAttributes(entry: CountEntry, mapping: Readonly<Record<string, string>>): Attributes {
  const parts = new Map<string, string[]>();
  for (const [field, key] of Object.entries(mapping)) {
    const value = entry.key[field];
    if (value === undefined || value === null) continue;
    parts.set(key, [...(parts.get(key) ?? []), String(value)]);
  }
  const attributes: Attributes = {};
  for (const [key, values] of parts) {
    const only = values.length === 1 ? entry.key[Object.keys(mapping).find((f) => mapping[f] === key)!] : undefined;
    // A lone number stays a number (process.pid is an int in the conventions).
    attributes[key] = typeof only === 'number' || typeof only === 'boolean' ? only : values.join(';');
  }
  return attributes;
}
