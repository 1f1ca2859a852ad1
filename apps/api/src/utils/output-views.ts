import type { CountsOutput, CountsView, EventItem, EventsView, HistOutput, HistView } from '@fleettrace/contracts';
import type { PagedEvent } from '../repositories/result.repository';
import { countsTop, histStats, type CountsFilter, type TimedEventsOutput } from '@fleettrace/results';

/** The views of outputs the results endpoints and live streams answer with, one way for both. */

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
  };
}

export function eventsView(output: TimedEventsOutput): EventsView {
  return { kind: 'events', name: output.name, received: output.received, dropped: output.dropped, records: output.records.map((r) => r.record) };
}


/** One stored record as the events endpoints and live streams send it. */
export function eventItem(row: PagedEvent): EventItem {
  return { time: row.ts, hostId: row.host, output: row.output, record: row.data };
}
