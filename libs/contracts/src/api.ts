import type { HostInfo, HostKind } from './host';
import type { EventRecord } from './outputs';
import type { JobState, RunState } from './run-state';
import type { RunCounters } from './queue';
import type { RunLimitsReport, RunOverhead } from './run-limits';
import type { CreateJobRequest, TargetsV2 } from './job';
import type { RunWarnings } from './run-warnings';
import type { ProgramSpec } from './program';
import type { RolloutSpec } from './rollout';
import type { CountsView, HistView, JobSummary, Percentile, StacksView } from './results-views';

/** Response bodies of the REST API, shared with the CLI and tests. */
export interface HostView extends HostInfo {
  kind: HostKind;
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
  /** What went wrong without failing the run, from its summary (null when nothing did, or before it). */
  warnings: RunWarnings | null;
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
  /** Why the runs that did not succeed ended, equal causes grouped. */
  summary: JobSummary;
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

/**
 * Every output kind a result lists: histograms with their percentiles, the top counts with the rest
 * summed as `other`, folded stacks (merged: with their heaviest functions), and events.
 */
export type OutputView = HistView | CountsView | StacksView | EventsView;

export interface HostResultView {
  hostId: string;
  hostName: string;
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

/** One event record of a job, with where it came from and its place in the job's time order. */
export interface EventItem {
  /** Epoch ns as a decimal string (past 2^53). */
  time: string;
  hostId: string;
  output: string;
  record: EventRecord;
}

export interface EventPage {
  items: EventItem[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  correlationId?: string;
  verifierLog?: string;
}

/** One output of two jobs compared (GET /v1/jobs/:a/compare/:b). */
export type OutputComparison =
  | { kind: 'hist'; name: string; hist: HistComparisonView }
  | { kind: 'counts'; name: string; counts: CountsComparisonView }
  /** "stack valueA valueB" lines, as flamegraph's difffolded.pl writes them. */
  | { kind: 'stacks'; name: string; diffFolded: string };

export interface PercentileShiftView {
  a: Percentile | null;
  b: Percentile | null;
  /** b's estimate over a's; null when either side is empty. */
  ratio: number | null;
}

export interface HistShiftView {
  count: { a: number; b: number };
  p50: PercentileShiftView;
  p90: PercentileShiftView;
  p99: PercentileShiftView;
}

export interface HistComparisonView {
  name: string;
  unit: string;
  merged: HistShiftView;
  /** Hosts that ran in both jobs. */
  perHost: Record<string, HistShiftView>;
}

export interface CountDeltaView {
  key: EventRecord;
  a: number;
  b: number;
  delta: number;
  relative: number | null;
}

export interface CountsComparisonView {
  name: string;
  unit: string;
  keyFields: string[];
  deltas: CountDeltaView[];
  movers: CountDeltaView[];
  onlyInB: Array<{ key: EventRecord; value: number }>;
  onlyInA: Array<{ key: EventRecord; value: number }>;
}

export interface JobComparisonView {
  a: string;
  b: string;
  program: string;
  outputs: OutputComparison[];
  /** Output names only one of the jobs returned. */
  onlyInA: string[];
  onlyInB: string[];
}

/**
 * What `GET /v1/jobs/:id/stream` sends, as server-sent events named by `event`. Every message's SSE
 * id is where the stream stands; a client reconnecting with it as Last-Event-ID goes on from there.
 */
export type JobStreamMessage =
  /** First, unless resuming: the job as it stands. */
  | { event: 'job'; data: { state: JobState; runStates: Partial<Record<RunState, number>>; runs: Array<{ runId: string; hostId: string; state: RunState }> } }
  /** A run's state change, in the order they happened. */
  | { event: 'state'; data: { runId: string; hostId: string; from: RunState; state: RunState; error: string | null; at: string } }
  /** Events as they arrive, in time order, filtered as the events endpoint filters them. */
  | { event: 'events'; data: { items: EventItem[] } }
  /** The latest snapshot of each host's aggregate maps, merged (jobs with `snapshotSeconds`). */
  | { event: 'snapshot'; data: { at: string; hosts: number; merged: OutputView[] } }
  /** The job completed; the stream ends. */
  | { event: 'end'; data: { state: JobState; runStates: Partial<Record<RunState, number>> } };

/** A host with what it can run and what it ran lately (GET /v1/hosts/:id). */
export interface HostDetailView extends HostView {
  /** Every catalog program, and whether this host can run it (why not, when not). */
  programs: Array<{ name: string; supported: boolean; reason: string | null }>;
  /** Its last 20 runs, newest first. */
  recentRuns: Array<{ runId: string; jobId: string; program: string; state: RunState; error: string | null; queuedAt: string; finishedAt: string | null }>;
}

export interface ProgramOutputView {
  kind: 'hist' | 'counts' | 'events' | 'stacks';
  name: string;
  unit: string | null;
  /** Counts: the fields each entry is keyed by. */
  keyFields?: string[];
  /** How it is exported to OpenTelemetry: instrument, metric or event name, unit. */
  otel: { instrument: string; name: string; unit?: string } | null;
}

/** A catalog program as GET /v1/programs describes it. */
export interface ProgramView {
  name: string;
  summary: string;
  /** JSON Schema (2020-12) of its parameters, generated from the schema the API validates them with. */
  parameters: Record<string, unknown>;
  outputs: ProgramOutputView[];
  /** What a host's kernel must offer. */
  requires: Record<string, unknown>;
  fallbacks: Array<{ lacking: string; instead: string }>;
  /** Online hosts that can run it, and those that cannot with why. */
  hosts: { supported: string[]; unsupported: Array<{ hostId: string; reason: string }> };
}
