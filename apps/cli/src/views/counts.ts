import type { CountsOutput } from '@fleettrace/contracts';
import { countsTop } from '@fleettrace/results';
import { renderTable, type Column } from './table';

/** With more hosts than this, a row says on how many hosts its key was seen instead of each host's value. */
const MAX_HOST_COLUMNS = 4;

/**
 * A top-N table of a counts output: its key fields, the value and share of the total, and each
 * host's value beside (or, on a larger fleet, how many hosts saw the key). The rest is one line.
 */
export function countsLines(merged: CountsOutput, perHost: ReadonlyMap<string, CountsOutput>, limit: number, color = false): string[] {
  const top = countsTop(merged, perHost, { limit });
  const hosts = [...perHost.keys()].sort();
  const perHostColumns = hosts.length > 1 && hosts.length <= MAX_HOST_COLUMNS;
  const valueHeader = merged.unit && merged.unit !== 'count' ? merged.unit.toUpperCase() : 'COUNT';
  const keyFields = top.keyFields.length > 0 ? top.keyFields : [];
  const columns: Column[] = [
    ...keyFields.map((field) => ({ key: `key.${field}`, header: field.toUpperCase() })),
    { key: 'value', header: valueHeader, align: 'right' as const, thousands: true },
    { key: 'percent', header: '%', align: 'right' as const },
    ...(perHostColumns ? hosts.map((host) => ({ key: `host.${host}`, header: host, align: 'right' as const, thousands: true })) : []),
    ...(hosts.length > MAX_HOST_COLUMNS ? [{ key: 'hosts', header: 'HOSTS', align: 'right' as const }] : []),
  ];
  const percent = (value: number) => (top.total > 0 ? `${((value / top.total) * 100).toFixed(1)}` : '-');
  const rows = top.rows.map((row) => ({
    ...Object.fromEntries(keyFields.map((field) => [`key.${field}`, row.key[field]])),
    value: row.value,
    percent: percent(row.value),
    ...Object.fromEntries(hosts.map((host) => [`host.${host}`, row.byHost[host] ?? 0])),
    hosts: Object.keys(row.byHost).length,
  }));
  if (top.rows.length === 0) return [`@${merged.name}: (no entries)`];
  const lines = [`@${merged.name}:`, ...renderTable(columns, rows, color)];
  if (top.other.keys > 0) lines.push(`(${top.other.keys.toLocaleString('en-US')} more keys: ${top.other.value.toLocaleString('en-US')}, ${percent(top.other.value)}%)`);
  return lines;
}
