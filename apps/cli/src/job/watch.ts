import type { JobView } from '@fleettrace/contracts';
import { ApiError, type ApiClient } from '../api/client';
import { CliError } from '../errors';
import { jobFinished } from './phases';

/** ~4 polls a second: progress feels live without loading the API (SSE replaces this in phase 2). */
export const POLL_INTERVAL_MS = 250;
/** Events so far are counted from the stored results, a heavier query: once a second is enough. */
const EVENTS_POLL_EVERY = 4;
/** Polls in a row that may fail (an API restart, a dropped connection) before the watch gives up. */
const TOLERATED_FAILURES = 8;

export interface JobUpdate {
  job: JobView;
  /** Events stored so far per host, for the runs that have not reported their counters yet. */
  liveEvents: ReadonlyMap<string, number>;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

async function eventsSoFar(client: ApiClient, jobId: string): Promise<Map<string, number>> {
  const results = await client.results(jobId, 0);
  return new Map(results.hosts.map((h) => [h.hostId, h.outputs.reduce((sum, o) => sum + (o.kind === 'events' ? o.received : 0), 0)]));
}

/**
 * Polls a job until it completes or `signal` aborts, reporting each poll. Returns the last view:
 * the completed job, or where it stood when the watch was stopped.
 */
export async function watchJob(client: ApiClient, jobId: string, onUpdate: (update: JobUpdate) => void, signal: AbortSignal): Promise<JobView> {
  let liveEvents = new Map<string, number>();
  let failures = 0;
  let last: JobView | undefined;
  for (let poll = 0; ; poll++) {
    try {
      const job = await client.job(jobId);
      if (!jobFinished(job) && poll % EVENTS_POLL_EVERY === 0) liveEvents = await eventsSoFar(client, jobId);
      failures = 0;
      last = job;
      onUpdate({ job, liveEvents });
      if (jobFinished(job)) return job;
    } catch (error) {
      // A refusal (4xx) will not get better by asking again; an unreachable API might.
      if (!(error instanceof CliError) || error instanceof ApiError || ++failures > TOLERATED_FAILURES) throw error;
    }
    if (signal.aborted && last) return last;
    await sleep(POLL_INTERVAL_MS, signal);
    if (signal.aborted && last) return last;
  }
}
