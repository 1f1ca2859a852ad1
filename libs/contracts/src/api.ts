import type { HostInfo } from './host';
import type { AggregateOutput, EventRecord } from './outputs';
import type { JobState, RunState } from './run-state';
import type { RunCounters } from './queue';
import type { RunLimitsReport, RunOverhead } from './run-limits';
import type { CreateJobRequest, TargetsV2 } from './job';
import type { ProgramSpec } from './program';
import type { RolloutSpec } from './rollout';

/** Response bodies of the REST API, shared with the CLI and tests. */
export interface HostView extends HostInfo {
  online: boolean;
  lastHeartbeatAt: string;
  registeredAt: string;
}

export interface RunView {
  id: string;
  hostId: string;
  /** The host's name when it registered (its id if it has none). */
  hostName: string;
  /** Rollout stage: 0 runs first (the canaries, or every host without a rollout), then 1, 2... */
  stage: number;
  state: RunState;
  error: string | null;
  verifierLog: string | null;
  counters: RunCounters | null;
  /** The limits that applied and the measured BPF overhead, from the run's summary (null before it). */
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  /** When the run was created; a pending run has not been put in its host's queue yet. */
  queuedAt: string;
  /** Latest time the host may start it (null while pending): past it, the run is missed. */
  startDeadline: string | null;
  /** Latest time it may still be going (start deadline + compile allowance + duration + grace): past it, the reaper ends it. */
  endDeadline: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One decision or step in a job's life, in its timeline: created, canary passed, batch dispatched, cancelled... */
export interface JobEventView {
  at: string;
  kind: string;
  /** One sentence saying what happened, as the CLI shows it. */
  message: string;
  detail: Record<string, unknown>;
}

export interface JobCancellation {
  at: string;
  by: string;
  reason: string;
}

export interface JobView {
  id: string;
  /** A catalog name, or the inline bpftrace / C program as submitted. */
  program: ProgramSpec;
  params: Record<string, unknown>;
  targets: TargetsV2;
  durationSeconds: number;
  rollout: RolloutSpec | null;
  snapshotSeconds: number | null;
  state: JobState;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  /** The schedule whose firing created the job, if any. */
  scheduleId: string | null;
  cancelled: JobCancellation | null;
  /** How many runs are in each state. */
  runStates: Partial<Record<RunState, number>>;
  runs: RunView[];
  events: JobEventView[];
}

/** A job in a list: no per-run detail. */
export interface JobListItem {
  id: string;
  /** The catalog name, or "bpftrace" / "c". */
  program: string;
  state: JobState;
  durationSeconds: number;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  scheduleId: string | null;
  hosts: number;
  runStates: Partial<Record<RunState, number>>;
}

export interface JobPage {
  items: JobListItem[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface PlannedHost {
  id: string;
  name: string;
}

/** What `POST /v1/jobs?dryRun=true` answers: the plan, with nothing created. */
export interface JobPlanView {
  dryRun: true;
  /** Hosts that would run the program, in dispatch order when a rollout is set (canaries first). */
  hosts: PlannedHost[];
  unsupported: Array<PlannedHost & { reason: string }>;
  /** Hosts the targets match that are offline: left out (named hosts are kept: they may come back in time). */
  offline: PlannedHost[];
  /** Online matching hosts that `sample` or `maxHosts` left out. */
  sampledOut: number;
  /** With a rollout: the canaries, then each batch. */
  stages: PlannedHost[][] | null;
}

export interface ScheduleFiringView {
  /** When the firing was due. */
  at: string;
  outcome: 'started' | 'skipped';
  jobId: string | null;
  reason: string | null;
}

export interface ScheduleView {
  id: string;
  name: string;
  cron: string | null;
  timezone: string | null;
  everySeconds: number | null;
  job: CreateJobRequest;
  overlap: 'skip' | 'allow';
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  nextFiringAt: string | null;
  lastFiring: ScheduleFiringView | null;
}

export interface ScheduleDetailView extends ScheduleView {
  /** The last 20 firings, newest first. */
  firings: ScheduleFiringView[];
  /** The last 20 jobs it started, newest first. */
  jobs: JobListItem[];
}

export interface EventsView {
  kind: 'events';
  name: string;
  received: number;
  dropped: number;
  /** Ordered by time; each record carries the host it came from. */
  records: EventRecord[];
}

/** Every output kind a result lists: hist, counts, stacks (the aggregates) and events. */
export type OutputView = AggregateOutput | EventsView;

export interface HostResultView {
  hostId: string;
  state: RunState;
  error: string | null;
  outputs: OutputView[];
}

export interface JobResultsView {
  jobId: string;
  state: JobState;
  /** Bucket-wise sums, per-key sums, per-stack sums and time-ordered events over every host that returned outputs. */
  merged: OutputView[];
  hosts: HostResultView[];
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  correlationId?: string;
  verifierLog?: string;
}
