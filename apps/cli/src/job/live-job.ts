import type { JobStreamMessage, JobView, RunState, RunView } from '@fleettrace/contracts';
import { PHASE_OF, type ProgressRun } from './phases';

export interface LiveRun extends ProgressRun {
  runId: string;
  error: string | null;
}

/** States a run does not leave: once there, its counters are final. */
const ENDED_PHASES = new Set(['done', 'failed', 'unsupported']);

export function runEnded(state: RunState): boolean {
  return ENDED_PHASES.has(PHASE_OF[state]);
}

/**
 * A job as its stream tells it: each run's state (and why it ended), and the events seen so far
 * per host. Starts from the job as it was submitted or fetched; messages move it on; a fetched
 * view brings the counters of ended runs, which the stream does not carry.
 */
export class LiveJob {
  private readonly byId = new Map<string, LiveRun>();
  readonly eventsByHost = new Map<string, number>();
  ended = false;

  constructor(job: JobView) {
    this.absorb(job);
  }

  get runs(): LiveRun[] {
    return [...this.byId.values()];
  }

  /** Moves the job on by one message; returns the runs that ended with it. */
  apply(message: JobStreamMessage): LiveRun[] {
    switch (message.event) {
      case 'job':
        return message.data.runs.flatMap((run) => this.move(run.runId, run.hostId, run.state, undefined));
      case 'state':
        return this.move(message.data.runId, message.data.hostId, message.data.state, message.data.error);
      case 'events':
        for (const item of message.data.items) this.eventsByHost.set(item.hostId, (this.eventsByHost.get(item.hostId) ?? 0) + 1);
        return [];
      case 'end':
        this.ended = true;
        return [];
      case 'snapshot':
        return [];
    }
  }

  /** A fetched view: its runs' counters, and states the stream has not told of yet (never going back). */
  absorb(job: JobView): void {
    for (const run of job.runs) {
      const known = this.byId.get(run.id);
      if (!known || (!runEnded(known.state) && runEnded(run.state))) {
        this.byId.set(run.id, { runId: run.id, hostId: run.hostId, state: run.state, error: run.error, counters: run.counters });
      } else {
        known.counters = run.counters ?? known.counters;
        known.error = known.error ?? run.error;
      }
    }
  }

  /**
   * Runs of the stream's opening picture past its first page, paged in after it (GET /v1/jobs/:id/runs
   * from its runsPage.nextCursor): as new as the picture or newer, so they move the job on as its
   * own runs do, counters and all. Returns the runs that ended with them.
   */
  applyPage(runs: readonly RunView[]): LiveRun[] {
    return runs.flatMap((run) => {
      const ended = this.move(run.id, run.hostId, run.state, run.error);
      const known = this.byId.get(run.id)!;
      known.counters = run.counters ?? known.counters;
      return ended;
    });
  }

  private move(runId: string, hostId: string, state: RunState, error: string | null | undefined): LiveRun[] {
    const known = this.byId.get(runId);
    if (known && runEnded(known.state)) return [];
    const run: LiveRun = { runId, hostId, state, error: error ?? known?.error ?? null, counters: known?.counters ?? null };
    this.byId.set(runId, run);
    return runEnded(state) ? [run] : [];
  }
}
