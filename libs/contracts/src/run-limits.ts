import { z } from 'zod';
import { apiComponent } from './api-components';
import {
  DEFAULT_EVENTS_PER_SECOND,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_MAP_MEMORY_BYTES,
  DEFAULT_MAX_ENTRIES_PER_OUTPUT,
  DEFAULT_MAX_EVENTS_PER_RUN,
  DEFAULT_OVERHEAD_BUDGET_PERCENT,
  DEFAULT_OVERHEAD_WINDOW_MS,
  MAX_EVENTS_PER_SECOND,
  MAX_MAP_MEMORY_BYTES,
  MAX_OVERHEAD_BUDGET_PERCENT,
  MIN_MAP_MEMORY_BYTES,
} from './limits';

const MAP_MEMORY_MESSAGE = `limits.mapMemoryBytes must be a whole number of bytes from ${MIN_MAP_MEMORY_BYTES} to ${MAX_MAP_MEMORY_BYTES}`;
const EVENTS_PER_SECOND_MESSAGE = `limits.eventsPerSecond must be a whole number from 1 to ${MAX_EVENTS_PER_SECOND}`;
const BUDGET_MESSAGE = `limits.overheadBudgetPercent must be a number above 0 and at most ${MAX_OVERHEAD_BUDGET_PERCENT}`;

/** A job's overrides of the per-run limits; each is optional, unset ones take the server's defaults. */
export const JobLimits = z
  .object({
    mapMemoryBytes: z
      .number({ error: MAP_MEMORY_MESSAGE })
      .int(MAP_MEMORY_MESSAGE)
      .min(MIN_MAP_MEMORY_BYTES, MAP_MEMORY_MESSAGE)
      .max(MAX_MAP_MEMORY_BYTES, MAP_MEMORY_MESSAGE)
      .optional(),
    eventsPerSecond: z
      .number({ error: EVENTS_PER_SECOND_MESSAGE })
      .int(EVENTS_PER_SECOND_MESSAGE)
      .min(1, EVENTS_PER_SECOND_MESSAGE)
      .max(MAX_EVENTS_PER_SECOND, EVENTS_PER_SECOND_MESSAGE)
      .optional(),
    overheadBudgetPercent: z
      .number({ error: BUDGET_MESSAGE })
      .gt(0, BUDGET_MESSAGE)
      .max(MAX_OVERHEAD_BUDGET_PERCENT, BUDGET_MESSAGE)
      .optional(),
  }, { error: 'limits must be an object' })
  .strict();
export type JobLimits = z.infer<typeof JobLimits>;

/**
 * Every limit of one run, whole: resolved once, by the API when the job is created (or by the CLI's
 * local mode, which has no API), carried by the dispatch to the daemon and the runner as it is.
 * Nothing on the way fills in a default.
 */
export const RunLimits = z.object({
  /** Seconds past the duration (from the attach), and past the start allowance, before the host's watchdog kills a runner (run-deadline.ts). */
  graceSeconds: z.number().positive(),
  /** Events kept per events output; the rest are dropped and counted. */
  maxEventsPerOutput: z.number().int().positive(),
  /** Entries kept per counts or stacks output (the largest); the rest are dropped and counted. */
  maxEntriesPerOutput: z.number().int().positive(),
  /** Estimated map memory the object may need; over it the run fails before load. */
  mapMemoryBytes: z.number().int().positive(),
  /** Events per second let through to the events outputs; the excess is dropped and counted (droppedByRate). */
  eventsPerSecond: z.number().int().positive(),
  /** BPF CPU time, in percent of one CPU over `overheadWindowMs`, past which the runner detaches. */
  overheadBudgetPercent: z.number().positive(),
  overheadWindowMs: z.number().int().positive(),
});
export type RunLimits = z.infer<typeof RunLimits>;

/** Server policy for a job's `limits` overrides: the highest each may ask for (never above the wire format's ceilings). */
export interface LimitsPolicy {
  maxMapMemoryBytes: number;
  maxEventsPerSecond: number;
  maxOverheadBudgetPercent: number;
  /** The budget of a job that asks for none (DEFAULT_OVERHEAD_BUDGET_PERCENT unless set), never above the highest. */
  defaultOverheadBudgetPercent?: number;
}

export const CEILING_LIMITS_POLICY: LimitsPolicy = {
  maxMapMemoryBytes: MAX_MAP_MEMORY_BYTES,
  maxEventsPerSecond: MAX_EVENTS_PER_SECOND,
  maxOverheadBudgetPercent: MAX_OVERHEAD_BUDGET_PERCENT,
};

/**
 * The one place a run's limits get their values: a job's overrides, checked against the policy,
 * over the defaults (which never exceed the policy either: an operator's lower ceiling lowers them).
 * Returns the error naming the field when an override is over the policy.
 */
export function resolveRunLimits(asked: JobLimits | undefined, policy: Partial<LimitsPolicy> = {}): { limits: RunLimits } | { error: string } {
  const p = { ...CEILING_LIMITS_POLICY, ...stripUndefined(policy) };
  const a = asked ?? {};
  if (a.mapMemoryBytes !== undefined && a.mapMemoryBytes > p.maxMapMemoryBytes) return { error: `limits.mapMemoryBytes must be at most ${p.maxMapMemoryBytes} bytes` };
  if (a.eventsPerSecond !== undefined && a.eventsPerSecond > p.maxEventsPerSecond) return { error: `limits.eventsPerSecond must be at most ${p.maxEventsPerSecond}` };
  if (a.overheadBudgetPercent !== undefined && a.overheadBudgetPercent > p.maxOverheadBudgetPercent) {
    return { error: `limits.overheadBudgetPercent must be at most ${p.maxOverheadBudgetPercent}` };
  }
  return {
    limits: {
      graceSeconds: DEFAULT_GRACE_SECONDS,
      maxEventsPerOutput: DEFAULT_MAX_EVENTS_PER_RUN,
      maxEntriesPerOutput: DEFAULT_MAX_ENTRIES_PER_OUTPUT,
      mapMemoryBytes: a.mapMemoryBytes ?? Math.min(DEFAULT_MAP_MEMORY_BYTES, p.maxMapMemoryBytes),
      eventsPerSecond: a.eventsPerSecond ?? Math.min(DEFAULT_EVENTS_PER_SECOND, p.maxEventsPerSecond),
      overheadBudgetPercent: a.overheadBudgetPercent ?? Math.min(p.defaultOverheadBudgetPercent ?? DEFAULT_OVERHEAD_BUDGET_PERCENT, p.maxOverheadBudgetPercent),
      overheadWindowMs: DEFAULT_OVERHEAD_WINDOW_MS,
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The limits of a run nobody asked anything of: the defaults (the CLI's local mode, tests). */
export function defaultRunLimits(): RunLimits {
  return (resolveRunLimits(undefined) as { limits: RunLimits }).limits;
}

/** A limit a run's program kind could not have applied to it, and why. */
export const LimitNotApplied = z.object({ limit: z.string(), reason: z.string() });
export type LimitNotApplied = z.infer<typeof LimitNotApplied>;

/**
 * The limits that applied to a run, as its summary reports them: a limit is present only when the
 * runner applied it (a bpftrace run's maps are bpftrace's own, so no map-memory limit); what was
 * not applied is listed in `notApplied` with the reason.
 */
export const RunLimitsReport = z.object({
  /** Map-memory limit, and what the object's maps were estimated to need (null: not estimated, e.g. no object loaded). */
  mapMemoryBytes: z.number().optional(),
  mapMemoryEstimateBytes: z.number().nullable(),
  eventsPerSecond: z.number().optional(),
  /**
   * Where the events-per-second limit was applied: in the kernel before the ring buffer (catalog
   * programs with the common rate limiter), or in the runner as records arrived (the programs ran
   * for every event; only what is kept is limited).
   */
  eventsPerSecondAppliedIn: z.enum(['kernel', 'runner']).optional(),
  overheadBudgetPercent: z.number().optional(),
  overheadWindowMs: z.number().optional(),
  maxEventsPerOutput: z.number(),
  /** Absent from daemons that predate the cap. */
  maxEntriesPerOutput: z.number().optional(),
  notApplied: z.array(LimitNotApplied).optional(),
});
export type RunLimitsReport = z.infer<typeof RunLimitsReport>;
apiComponent('RunLimitsReport', RunLimitsReport);

/** What the run's BPF programs cost, measured from the kernel's run_time_ns while it ran. */
export const RunOverhead = z.object({
  /** false when the kernel would not collect program stats (the budget was not enforced). */
  measured: z.boolean(),
  /** Highest BPF CPU time over any window, in percent of one CPU (several CPUs add up past 100). */
  peakCpuPercent: z.number(),
  meanCpuPercent: z.number(),
  bpfRunTimeNs: z.number(),
  bpfRunCount: z.number(),
  windowMs: z.number(),
  samples: z.number(),
  budgetExceeded: z.boolean(),
  /** Why it was not measured, when it was not. */
  note: z.string().optional(),
});
export type RunOverhead = z.infer<typeof RunOverhead>;
apiComponent('RunOverhead', RunOverhead);
