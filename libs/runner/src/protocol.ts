import type { InlineProgram, ProgramPolicy, AggregateOutput, EventRecord, EventsSummary, RunCounters, RunLimits, RunLimitsReport, RunOverhead } from '@fleettrace/contracts';

/** What the daemon tells a fresh runner process to do (sent once over IPC). */
export interface RunnerStart {
  type: 'start';
  runId: string;
  /** A catalog name, or an inline bpftrace script / C source. */
  program: string | InlineProgram;
  params: Record<string, unknown>;
  durationSeconds: number;
  /** Decimal cgroup id (a u64) whose subtree alone is traced; null for the whole host. */
  cgroupId: string | null;
  /** That cgroup's directory, where the runner lists its subtree (bpftrace's scope guard needs every id). */
  cgroupPath?: string;
  /**
   * How long a kept event may wait for its batch to fill (default EVENTS_MAX_DELAY_MS, which batches
   * for the daemon's stream). A person watching a terminal (the CLI's local mode) wants 0: each
   * ring-buffer batch goes out as it arrives.
   */
  eventsMaxDelayMs?: number;
  /** The run's limits, whole, as the API resolved them (contracts' resolveRunLimits): applied as they are. */
  limits: RunLimits;
  /** What a custom C program may contain, as the API resolved it; absent: DEFAULT_PROGRAM_POLICY, the strictest. */
  policy?: ProgramPolicy;
  /** Epoch ms at which the daemon's watchdog SIGKILLs this runner at the latest: whatever it reports must be sent before. */
  killAt?: number;
  /**
   * Ms the run may take to start (compile, load, attach) on this host, as the API's deadlines give
   * it (contracts' runPhases); the duration runs from the attach. Absent: the kind's fixed allowance.
   */
  startAllowanceMs?: number;
  /** Read the aggregate maps and send them as a `snapshot` every this many seconds while running. */
  snapshotSeconds?: number;
}

/** What a runner reports back, in order; exactly one `done` or `failed` ends it. */
export type RunnerMessage =
  | { type: 'state'; state: 'compiling' | 'loading' | 'running' | 'draining' }
  | { type: 'events'; output: string; timeField: string; records: EventRecord[] }
  /** The aggregate outputs as they stand while the run goes on. */
  | { type: 'snapshot'; outputs: AggregateOutput[] }
  | {
      type: 'done';
      outputs: AggregateOutput[];
      events: EventsSummary[];
      counters: RunCounters;
      stoppedEarly: boolean;
      /** What the programs saw: the daemon's cgroup only, or the whole host (C programs without the filter contract). */
      scope?: 'cgroup' | 'host';
      limits?: RunLimitsReport;
      overhead?: RunOverhead;
      /** Set when the runner detached because the overhead budget was exceeded: why, in a sentence. */
      budgetExceeded?: string;
      /** What went wrong without ending the run (a probe bpftrace skipped, a helper error), each once, in the order they came. */
      warnings?: string[];
    }
  /** timedOut: the run did not start within its start allowance (the run ends `timed_out`). */
  | { type: 'failed'; error: string; verifierLog?: string; unsupported?: boolean; timedOut?: boolean; limits?: RunLimitsReport };

/** The run id a warm runner is started with (runner-process.ts): a UUID's length, so the real one fits in its place (serve.ts). */
export const WARM_RUNNER_RUN_ID = 'warm-runner-waiting-for-its-run-0000';
