import type { HostInfo } from './host';
import type { AggregateOutput, EventRecord } from './outputs';
import type { JobState, RunState } from './run-state';
import type { RunCounters } from './queue';
import type { TargetSelector } from './job';

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
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobView {
  id: string;
  program: string;
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
  /** Bucket-wise sums, per-key sums and time-ordered events over every host that returned outputs. */
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
