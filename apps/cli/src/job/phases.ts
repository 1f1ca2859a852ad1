import type { JobView, RunState, RunView } from '@fleettrace/contracts';

/** The five columns of a job's progress: what a user needs to know about each run's state. */
export type RunPhase = 'queued' | 'running' | 'done' | 'failed' | 'unsupported';

/** Every run state in one of them; a Record, so a new state cannot be forgotten here. */
export const PHASE_OF: Readonly<Record<RunState, RunPhase>> = {
  pending: 'queued',
  queued: 'queued',
  dispatched: 'queued',
  compiling: 'running',
  loading: 'running',
  running: 'running',
  draining: 'running',
  succeeded: 'done',
  failed: 'failed',
  cancelled: 'failed',
  timed_out: 'failed',
  missed: 'failed',
  budget_exceeded: 'failed',
  unsupported: 'unsupported',
};

export interface JobProgress {
  hosts: number;
  phases: Record<RunPhase, number>;
  /** Events received so far over every host (from the finished runs' counters, and the events streamed of the others). */
  events: number;
  /** Events the kernel's ring buffers had no room for, over the runs that have reported. */
  lostEvents: number;
}

/** What progress needs of a run: a JobView's runs, or the runs a job's stream has told of. */
export type ProgressRun = Pick<RunView, 'hostId' | 'state' | 'counters'>;

export function jobProgress(runs: readonly ProgressRun[], liveEvents?: ReadonlyMap<string, number>): JobProgress {
  const phases: Record<RunPhase, number> = { queued: 0, running: 0, done: 0, failed: 0, unsupported: 0 };
  let events = 0;
  let lostEvents = 0;
  for (const run of runs) {
    phases[PHASE_OF[run.state]]++;
    events += run.counters?.events ?? liveEvents?.get(run.hostId) ?? 0;
    lostEvents += run.counters?.lostEvents ?? 0;
  }
  return { hosts: runs.length, phases, events, lostEvents };
}

/** Runs that ended without succeeding: each is a host whose answer is missing from the merge. */
export function unsuccessfulRuns(job: JobView): RunView[] {
  return job.runs.filter((run) => PHASE_OF[run.state] === 'failed' || PHASE_OF[run.state] === 'unsupported');
}

/** Whether the job is over: the API completes it once every run has ended. */
export function jobFinished(job: JobView): boolean {
  return job.state === 'completed';
}
