import type { JobView, RunCounters, RunState } from '@fleettrace/contracts';

/** One line of the per-host summary printed after a result, for a fleet job or a local run alike. */
export interface HostSummary {
  host: string;
  state: RunState;
  events: number | null;
  lost: number | null;
  /** Events dropped past the run's caps (per output, per second). */
  dropped: number | null;
  seconds: number | null;
  error: string | null;
}

export function droppedOf(counters: RunCounters): number {
  return counters.droppedEvents + (counters.droppedByRate ?? 0);
}

export function hostSummaries(job: JobView): HostSummary[] {
  return job.runs
    .map((run) => ({
      host: run.hostId,
      state: run.state,
      events: run.counters?.events ?? null,
      lost: run.counters?.lostEvents ?? null,
      dropped: run.counters ? droppedOf(run.counters) : null,
      seconds: run.startedAt && run.finishedAt ? (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000 : null,
      error: run.error,
    }))
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

/**
 * Lines for stderr: what went wrong in a host's run without failing it (a probe bpftrace skipped, a
 * helper error), each distinct warning the summary kept, then how many more there were.
 */
export function warningLines(job: JobView): string[] {
  return [...job.runs]
    .sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0))
    .flatMap((run) => {
      if (!run.warnings) return [];
      const more = run.warnings.distinct - run.warnings.first.length;
      return [...run.warnings.first.map((w) => `${run.hostId} warning: ${w}`), ...(more > 0 ? [`${run.hostId}: ${more} more warning${more === 1 ? '' : 's'}`] : [])];
    });
}
