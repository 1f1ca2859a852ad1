import { z } from 'zod';
import { apiComponent } from './api-components';
import { MAX_EVENTS_PER_SECOND, MAX_MAP_MEMORY_BYTES, MAX_OVERHEAD_BUDGET_PERCENT, MIN_MAP_MEMORY_BYTES } from './limits';

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

/** The limits that applied to a run, as its summary reports them. */
export const RunLimitsReport = z.object({
  /** Map-memory limit, and what the object's maps were estimated to need (null: not estimated, e.g. no object loaded). */
  mapMemoryBytes: z.number(),
  mapMemoryEstimateBytes: z.number().nullable(),
  eventsPerSecond: z.number(),
  overheadBudgetPercent: z.number(),
  overheadWindowMs: z.number(),
  maxEventsPerOutput: z.number(),
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
