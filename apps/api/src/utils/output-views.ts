import type { EventItem } from '@fleettrace/contracts';
import type { PagedEvent } from '../repositories/result.repository';

/** One stored record as the events endpoints and live streams send it. */
export function eventItem(row: PagedEvent): EventItem {
  return { time: row.ts, hostId: row.host, output: row.output, record: row.data };
}
