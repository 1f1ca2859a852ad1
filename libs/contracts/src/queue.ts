import { z } from 'zod';
import { apiComponent } from './api-components';
import { HostId, HostInfo } from './host';
import { AggregateOutput, EventRecord, EventsSummary, Record as RecordSchema } from './outputs';
import { RunState } from './run-state';
import { InlineProgram } from './program';
import { ProgramPolicy } from './program-policy';
import { RunLimits, RunLimitsReport, RunOverhead } from './run-limits';
import { RunWarnings } from './run-warnings';
import { SshProbeMessage } from './ssh';
import { SpanId, Traceparent } from './trace-context';

/** BullMQ queue a host's daemon consumes; one per host so a slow host never delays another. */
export function hostQueueName(hostId: string): string {
  return `host.${hostId}`;
}
export const RUN_JOB_NAME = 'run';
/** The API's own queues: a job's rollout steps, and schedule firings (BullMQ job schedulers). */
export const ROLLOUT_QUEUE = 'rollout';
export const ROLLOUT_STEP_JOB_NAME = 'step';
export const SCHEDULES_QUEUE = 'schedules';
export const SCHEDULE_FIRE_JOB_NAME = 'fire';
/** Every fleettrace key in Redis (BullMQ's too) lives under a prefix; tests use one each. */
export const DEFAULT_REDIS_PREFIX = 'ft';
/**
 * Redis stream through which one host reports (its registration, heartbeats, run states and
 * results) to the API's ingest. One per host, so Redis itself keeps a host to its own stream (its
 * ACL user may write only this key: hostRedisAclRules) and ingest knows the sender of every entry.
 */
export function resultsStreamKey(prefix: string, hostId: string): string {
  return `${resultsStreamPrefix(prefix)}${hostId}`;
}
function resultsStreamPrefix(prefix: string): string {
  return `${prefix}:results:`;
}
/** SCAN pattern matching every host's results stream (a host id has no `:`, so nothing else matches: see hostOfResultsStream). */
export function resultsStreamPattern(prefix: string): string {
  return `${resultsStreamPrefix(prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
}
/** The host whose results stream `key` is, or undefined if it is no host's results stream. */
export function hostOfResultsStream(prefix: string, key: string): string | undefined {
  const start = resultsStreamPrefix(prefix);
  if (!key.startsWith(start)) return undefined;
  const hostId = key.slice(start.length);
  return HostId.safeParse(hostId).success ? hostId : undefined;
}
export const INGEST_CONSUMER_GROUP = 'ingest';
/**
 * Where ingest puts a results entry it could not store (fields: `id` of the entry, `stream` it came
 * from, `reason`, and `m` as it was), so one bad report never holds up the others and an operator
 * can still read it. Outside the results streams' key space: no host id can name it.
 */
export function resultsDeadLetterKey(prefix: string): string {
  return `${prefix}:results-dead`;
}

/**
 * Pub/sub channel on which the API tells one host's daemon to act now (cancel a run). A message
 * can be missed while the daemon reconnects, so a cancel is also written under cancelledRunKey,
 * which the daemon reads before it starts any run.
 */
export function hostControlChannel(prefix: string, hostId: string): string {
  return `${prefix}:control:${hostId}`;
}
/** Present while a run is cancelled (its value is the reason): a daemon that takes it ends it at once. */
export function cancelledRunKey(prefix: string, runId: string): string {
  return `${prefix}:cancelled:${runId}`;
}
/** Long enough for any run to have been taken or given up on. */
export const CANCELLED_RUN_KEY_TTL_SECONDS = 2 * 24 * 3600;
export const HostControlMessage = z.object({ type: z.literal('cancel'), runId: z.string(), reason: z.string() });
export type HostControlMessage = z.infer<typeof HostControlMessage>;

/** The BullMQ job a host's daemon takes; its job id is the run id, so a retry never duplicates it. */
export const RunDispatch = z.object({
  runId: z.string().uuid(),
  jobId: z.string().uuid(),
  hostId: z.string(),
  /** A catalog name, or an inline bpftrace script / C source (validated by the API). */
  program: z.union([z.string(), InlineProgram]),
  /** sha256 (hex) of programText(program): the host checks the program it runs is the one the API hashed. */
  programSha256: z.string().regex(/^[0-9a-f]{64}$/, 'programSha256 must be 64 hex digits'),
  params: z.record(z.string(), z.unknown()),
  durationSeconds: z.number().int().positive(),
  /** Epoch ms after which the host must not start the run; it reports `missed` instead. */
  startDeadline: z.number(),
  /**
   * Epoch ms by which the run must have ended whatever happens (start deadline + runAllowanceSeconds,
   * stored on the run): the daemon's watchdog kills the runner by then, and the API's reaper gives
   * up on the run after it.
   */
  endDeadline: z.number(),
  /** Each host sends its hist / counts / stacks maps every S seconds while the run goes on. */
  snapshotSeconds: z.number().int().positive().optional(),
  /** W3C trace context of the run's span in its job's trace, for the daemon to continue. Absent from an older API. */
  traceparent: Traceparent.optional(),
  /** Resolved once by the API (resolveRunLimits) and applied as they are. */
  limits: RunLimits,
  /**
   * What a custom C program may contain (program kinds, helpers), resolved by the API from the job's
   * token and checked by the runner before load. Absent from an older API: the runner then applies
   * DEFAULT_PROGRAM_POLICY, the strictest.
   */
  policy: ProgramPolicy.optional(),
  /** Ed25519 signature (base64) by the API over dispatchSigningPayload of everything else. */
  signature: z.string().min(1),
});
export type RunDispatch = z.infer<typeof RunDispatch>;
/** A dispatch as the API builds it, before it signs it. */
export type UnsignedRunDispatch = Omit<RunDispatch, 'signature'>;

export const RunCounters = z.object({
  events: z.number(),
  lostEvents: z.number(),
  /** Events dropped past the run's events-per-output cap (maxEventsPerOutput). */
  droppedEvents: z.number(),
  /** Events dropped past the run's events-per-second cap (by the kernel or the runner: see the limits report). */
  droppedByRate: z.number().optional(),
});
export type RunCounters = z.infer<typeof RunCounters>;
apiComponent('RunCounters', RunCounters);

export const HostMessage = z.object({ type: z.literal('host'), at: z.number(), host: HostInfo });
export const StateMessage = z.object({
  type: z.literal('state'),
  runId: z.string(),
  at: z.number(),
  state: RunState,
  error: z.string().optional(),
  /** The dispatch's traceparent, returned by the daemon that continued it (on `dispatched`). */
  traceparent: Traceparent.optional(),
  /** The span the daemon made of the run in that trace, a child of the traceparent's span; sent with it when the daemon exports spans. */
  hostSpanId: SpanId.optional(),
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
/** A run's aggregate outputs, each name once: storage keys them by (run, name). */
const NamedOutputs = z.array(AggregateOutput).superRefine((outputs, ctx) => {
  const seen = new Set<string>();
  for (const [i, o] of outputs.entries()) {
    if (seen.has(o.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `output name ${JSON.stringify(o.name)} appears more than once` });
    seen.add(o.name);
  }
});
export const SummaryMessage = z.object({
  type: z.literal('summary'),
  runId: z.string(),
  at: z.number(),
  state: RunState,
  error: z.string().optional(),
  verifierLog: z.string().optional(),
  /** hist, counts and stacks outputs, read when the run ended (stacks already symbolized and folded on the host). */
  outputs: NamedOutputs,
  events: z.array(EventsSummary),
  counters: RunCounters,
  /** The limits that applied to the run; absent from daemons that predate them. */
  limits: RunLimitsReport.optional(),
  /** What its BPF programs cost. */
  overhead: RunOverhead.optional(),
  warnings: RunWarnings.optional(),
  /** The dispatch's traceparent, returned with the results by the daemon that continued it. */
  traceparent: Traceparent.optional(),
  /** As on a state message: the daemon's own span of the run. */
  hostSpanId: SpanId.optional(),
});
/**
 * A run's aggregate maps read while it goes on (every `snapshotSeconds`): hist, counts and stacks
 * as they stand, replaced by the next one and in the end by the summary's outputs.
 */
export const SnapshotMessage = z.object({
  type: z.literal('snapshot'),
  runId: z.string(),
  at: z.number(),
  /** Snapshot number within the run, from 0: a late one never replaces a newer one. */
  seq: z.number().int().nonnegative(),
  outputs: NamedOutputs,
});
/**
 * A host refused a dispatch taken from its queue (bad or missing signature, another host's, a
 * program that does not match its hash, past its deadline) and ran nothing. runId is what the
 * dispatch claimed, if it named one: unverified, so ingest fails that run only if it is the host's own.
 */
export const DispatchRefusedMessage = z.object({
  type: z.literal('dispatch-refused'),
  hostId: z.string(),
  at: z.number(),
  /** The BullMQ job id it was queued under. */
  queuedAs: z.string(),
  runId: z.string().uuid().optional(),
  reason: z.string(),
});
export type DispatchRefusedMessage = z.infer<typeof DispatchRefusedMessage>;
export const ResultMessage = z.discriminatedUnion('type', [HostMessage, StateMessage, EventsMessage, SummaryMessage, SnapshotMessage, SshProbeMessage, DispatchRefusedMessage]);
export type ResultMessage = z.infer<typeof ResultMessage>;
export type HostMessage = z.infer<typeof HostMessage>;
export type StateMessage = z.infer<typeof StateMessage>;
export type EventsMessage = z.infer<typeof EventsMessage>;
export type SummaryMessage = z.infer<typeof SummaryMessage>;
export type SnapshotMessage = z.infer<typeof SnapshotMessage>;
export type { EventRecord };
