import type { AggregateOutput, EventRecord, EventsSummary, RunCounters } from '@fleettrace/contracts';

/** What the daemon tells a fresh runner process to do (sent once over IPC). */
export interface RunnerStart {
  type: 'start';
  runId: string;
  program: string;
  params: Record<string, unknown>;
  durationSeconds: number;
  /** Decimal cgroup id (a u64) whose subtree alone is traced; null for the whole host. */
  cgroupId: string | null;
  maxEventsPerOutput: number;
}

/** What a runner reports back, in order; exactly one `done` or `failed` ends it. */
export type RunnerMessage =
  | { type: 'state'; state: 'loading' | 'running' | 'draining' }
  | { type: 'events'; output: string; timeField: string; records: EventRecord[] }
  | { type: 'done'; outputs: AggregateOutput[]; events: EventsSummary[]; counters: RunCounters; stoppedEarly: boolean }
  | { type: 'failed'; error: string; verifierLog?: string; unsupported?: boolean };
