import type { CountsOutput, CountsView, EventsView, HistOutput, HistView } from '@fleettrace/contracts';
import { countsTop, type CountsFilter } from './counts-top';
import { histStats } from './hist-stats';
import type { TimedEventsOutput } from './merge';

/**
 * The views of outputs the API's results endpoints and live streams answer with, and the CLI's
 * local mode prints: one way for all of them.
 */

export function histView(output: HistOutput): HistView {
  return { ...output, stats: histStats(output) };
}

/** The top entries, the rest as `other`; merged ones with each host's share of each key. */
export function countsView(output: CountsOutput, perHost: ReadonlyMap<string, CountsOutput> | undefined, top: number | undefined, filter: CountsFilter | undefined): CountsView {
  const table = countsTop(output, perHost ?? new Map(), { limit: top, filter });
  return {
    kind: 'counts',
    name: output.name,
    unit: output.unit,
    keyFields: output.keyFields,
    total: table.total,
    entries: table.rows.map((row) => (perHost ? row : { key: row.key, value: row.value })),
    other: table.other,
    ...(output.dropped ? { dropped: output.dropped } : {}),
  };
}

export function eventsView(output: TimedEventsOutput): EventsView {
  return { kind: 'events', name: output.name, received: output.received, dropped: output.dropped, records: output.records.map((r) => r.record) };
}


