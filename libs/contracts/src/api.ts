import type { HostInfo } from './host';
import type { AggregateOutput, EventRecord } from './outputs';
import type { JobState, RunState } from './run-state';
import type { RunCounters } from './queue';
import type { RunLimitsReport, RunOverhead } from './run-limits';
import type { RunWarnings } from './run-warnings';
import type { TargetSelector } from './job';
import type { ProgramSpec } from './program';

/** Response bodies of the REST API, shared with the CLI and tests. */
export interface HostView extends HostInfo {
  online: boolean;
  lastHeartbeatAt: string;
  registeredAt: string;
}

export interface RunView {
  id: string;
  hostId: string;
  state: RunState;
  error: string | null;
  verifierLog: string | null;
  counters: RunCounters | null;
  /** The limits that applied and the measured BPF overhead, from the run's summary (null before it). */
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  /** What went wrong without failing the run, from its summary (null when nothing did, or before it). */
  warnings: RunWarnings | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobView {
  id: string;
  /** A catalog name, or the inline bpftrace / C program as submitted. */
  program: ProgramSpec;
  params: Record<string, unknown>;
  targets: TargetSelector;
  durationSeconds: number;
  state: JobState;
  createdAt: string;
  finishedAt: string | null;
  runs: RunView[];
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
