import { AT_EXIT_FIELD, type EventItem, type JobResultsView } from '@fleettrace/contracts';

const keyOf = (item: EventItem): string => `${item.time}\u0000${JSON.stringify(item.record)}`;
const slotOf = (hostId: string, output: string): string => `${hostId}\u0000${output}`;

/** A host's events output whose stored events the stream did not all bring. */
export interface EventsGap {
  hostId: string;
  output: string;
  missing: number;
}

/**
 * The events a job's stream brought, per host and output, to find the ones it passed over. The
 * API's stream pages every host's events by one time cursor, so a batch that is stored after a
 * later event of another host was sent never comes (see the report on GET /v1/jobs/:id/stream);
 * once the job has ended, what is missing is fetched and printed after the rest.
 */
export class StreamedEvents {
  private readonly seen = new Map<string, Map<string, number>>();

  add(items: readonly EventItem[]): void {
    for (const item of items) {
      const slot = slotOf(item.hostId, item.output);
      const keys = this.seen.get(slot) ?? new Map<string, number>();
      keys.set(keyOf(item), (keys.get(keyOf(item)) ?? 0) + 1);
      this.seen.set(slot, keys);
    }
  }

  private count(hostId: string, output: string): number {
    let n = 0;
    for (const times of this.seen.get(slotOf(hostId, output))?.values() ?? []) n += times;
    return n;
  }

  /** Each host's events output that stored more events than the stream brought. */
  gaps(results: JobResultsView): EventsGap[] {
    return results.hosts.flatMap((host) =>
      host.outputs.flatMap((output) => {
        if (output.kind !== 'events') return [];
        const missing = output.received - output.dropped - this.count(host.hostId, output.name);
        return missing > 0 ? [{ hostId: host.hostId, output: output.name, missing }] : [];
      }),
    );
  }

  /** The events of `items` the stream did not bring (each streamed one is matched once). */
  unseen(items: readonly EventItem[]): EventItem[] {
    return items.filter((item) => {
      const keys = this.seen.get(slotOf(item.hostId, item.output));
      const times = keys?.get(keyOf(item)) ?? 0;
      if (times === 0) return true;
      keys!.set(keyOf(item), times - 1);
      return false;
    });
  }
}

/**
 * The note on stderr for the events printed after the rest, or none. bpftrace's print of its maps
 * at exit (records marked AT_EXIT_FIELD) comes once the run has ended, after the stream, by
 * design: those lines were never late, and counting them would announce a lost race that was not.
 */
export function lateEventsNote(late: readonly EventItem[]): string | undefined {
  const missed = late.filter((item) => item.record[AT_EXIT_FIELD] !== true).length;
  if (missed === 0) return undefined;
  return `${missed} event${missed === 1 ? '' : 's'} reached the API after later ones of other hosts and missed the live stream: printed last`;
}
