import { z } from 'zod';
import { HostInfo } from './host';
import { AggregateOutput, EventRecord, EventsSummary, Record as RecordSchema } from './outputs';
import { RunState } from './run-state';
import { InlineProgram } from './program';
import { RunLimitsReport, RunOverhead } from './run-limits';
import { RunWarnings } from './run-warnings';

/** BullMQ queue a host's daemon consumes; one per host so a slow host never delays another. */
export function hostQueueName(hostId: string): string {
  return `host.${hostId}`;
}
export const FINALIZE_QUEUE = 'finalize';
export const RUN_JOB_NAME = 'run';
export const FINALIZE_JOB_NAME = 'finalize';
/** Every fleettrace key in Redis (BullMQ's too) lives under a prefix; tests use one each. */
export const DEFAULT_REDIS_PREFIX = 'ft';
/** Redis stream through which daemons report hosts, run states and results to the API's ingest. */
export function resultsStreamKey(prefix: string): string {
  return `${prefix}:results`;
}
export const INGEST_CONSUMER_GROUP = 'ingest';

/** The BullMQ job a host's daemon takes; its job id is the run id, so a retry never duplicates it. */
export const RunDispatch = z.object({
  runId: z.string().uuid(),
  jobId: z.string().uuid(),
  hostId: z.string(),
  /** A catalog name, or an inline bpftrace script / C source (validated by the API). */
  program: z.union([z.string(), InlineProgram]),
  params: z.record(z.string(), z.unknown()),
  durationSeconds: z.number().int().positive(),
  /** Epoch ms after which the host must not start the run; it reports `missed` instead. */
  startDeadline: z.number(),
  limits: z.object({
    graceSeconds: z.number().positive(),
    maxEventsPerOutput: z.number().int().positive(),
    // Optional so dispatches of an older API stay valid; the daemon applies the defaults of limits.ts.
    mapMemoryBytes: z.number().int().positive().optional(),
    eventsPerSecond: z.number().int().positive().optional(),
    overheadBudgetPercent: z.number().positive().optional(),
    overheadWindowMs: z.number().int().positive().optional(),
  }),
});
export type RunDispatch = z.infer<typeof RunDispatch>;

export const RunCounters = z.object({
  events: z.number(),
  lostEvents: z.number(),
  /** Events dropped past the run's events-per-output cap (maxEventsPerOutput). */
  droppedEvents: z.number(),
  /** Events the kernel dropped past the run's events-per-second cap. */
  droppedByRate: z.number().optional(),
});
export type RunCounters = z.infer<typeof RunCounters>;

export const HostMessage = z.object({ type: z.literal('host'), at: z.number(), host: HostInfo });
export const StateMessage = z.object({
  type: z.literal('state'),
  runId: z.string(),
  at: z.number(),
  state: RunState,
  error: z.string().optional(),
});
export const EventsMessage = z.object({
  type: z.literal('events'),
  runId: z.string(),
  /** Batch number within the run, from 0; (runId, seq) makes redelivery idempotent. */
  seq: z.number().int().nonnegative(),
  output: z.string(),
  /**
   * Field of every record holding its time, in nanoseconds since the Unix epoch (converted on the
   * host from the kernel's monotonic clock, so events of different hosts order correctly).
   */
  timeField: z.string(),
  records: z.array(RecordSchema),
});
export const SummaryMessage = z.object({
  type: z.literal('summary'),
  runId: z.string(),
  at: z.number(),
  state: RunState,
  error: z.string().optional(),
  verifierLog: z.string().optional(),
  /** hist, counts and stacks outputs, read when the run ended (stacks already symbolized and folded on the host). */
  outputs: z.array(AggregateOutput),
  events: z.array(EventsSummary),
  counters: RunCounters,
  /** The limits that applied to the run; absent from daemons that predate them. */
  limits: RunLimitsReport.optional(),
  /** What its BPF programs cost. */
  overhead: RunOverhead.optional(),
  warnings: RunWarnings.optional(),
});
export const ResultMessage = z.discriminatedUnion('type', [HostMessage, StateMessage, EventsMessage, SummaryMessage]);
export type ResultMessage = z.infer<typeof ResultMessage>;
export type HostMessage = z.infer<typeof HostMessage>;
export type StateMessage = z.infer<typeof StateMessage>;
export type EventsMessage = z.infer<typeof EventsMessage>;
export type SummaryMessage = z.infer<typeof SummaryMessage>;
export type { EventRecord };
