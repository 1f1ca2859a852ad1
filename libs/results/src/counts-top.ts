import type { CountsOutput, EventRecord } from '@fleettrace/contracts';
import { ResultsQueryError } from './errors';
import { topLimit } from './limit';
import { countKey, sortCountEntries } from './merge';
import { byCodeUnits } from './order';

/**
 * Key fields and the values they must have. Values compare as strings, because a query string
 * carries only strings: `?key.pid=42` matches the number 42 (and the string "42").
 */
export type CountsFilter = Readonly<Record<string, string | number | boolean | null>>;

export interface CountsTopOptions {
  /** How many entries to list before the rest are summed as `other`; 20 unless given. */
  limit?: number;
  filter?: CountsFilter;
}

export interface CountsTopRow {
  key: EventRecord;
  value: number;
  /** Each host's value for this key; a host without it is left out. */
  byHost: Record<string, number>;
}

export interface CountsTop {
  name: string;
  unit: string;
  keyFields: string[];
  /** Sum over every entry the filter kept, listed or not. */
  total: number;
  rows: CountsTopRow[];
  /** Everything past the limit: its summed value and how many keys it holds. */
  other: { value: number; keys: number };
}

/** Whether an entry's key has every filtered field at the filtered value; a field the key lacks never matches. */
function keyMatches(key: EventRecord, filter: CountsFilter): boolean {
  return Object.entries(filter).every(([field, wanted]) => field in key && String(key[field]) === String(wanted));
}

/**
 * The top `limit` entries of a fleet-wide counts output, the rest summed as `other`, each listed key
 * with every host's share of it (`perHost` keyed by host id). A filter on a field the output's keys do
 * not have is refused rather than matching nothing, so a typo does not pass for an empty answer.
 */
export function countsTop(merged: CountsOutput, perHost: ReadonlyMap<string, CountsOutput>, options: CountsTopOptions = {}): CountsTop {
  const limit = topLimit(options.limit);
  const filter = options.filter ?? {};
  for (const field of Object.keys(filter)) {
    if (!merged.keyFields.includes(field)) {
      throw new ResultsQueryError(`output "${merged.name}" has no key field "${field}"; its key fields: ${merged.keyFields.join(', ') || 'none'}`);
    }
  }
  const kept = sortCountEntries(merged.entries.filter((e) => keyMatches(e.key, filter)));
  const listed = kept.slice(0, limit);
  const rest = kept.slice(limit);

  // Filled in host id order, so each row's hosts read in that order.
  const byHostOf = new Map(listed.map((e) => [countKey(e.key), new Map<string, number>()]));
  for (const [hostId, output] of [...perHost].sort(([a], [b]) => byCodeUnits(a, b))) {
    for (const entry of output.entries) {
      const byHost = byHostOf.get(countKey(entry.key));
      byHost?.set(hostId, (byHost.get(hostId) ?? 0) + entry.value);
    }
  }

  return {
    name: merged.name,
    unit: merged.unit,
    keyFields: merged.keyFields,
    total: kept.reduce((sum, e) => sum + e.value, 0),
    rows: listed.map((e) => ({ key: e.key, value: e.value, byHost: Object.fromEntries(byHostOf.get(countKey(e.key)) ?? []) })),
    other: { value: rest.reduce((sum, e) => sum + e.value, 0), keys: rest.length },
  };
}
