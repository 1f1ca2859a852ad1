import {
  DEFAULT_EVENTS_PER_SECOND,
  DEFAULT_MAP_MEMORY_BYTES,
  DEFAULT_OVERHEAD_BUDGET_PERCENT,
  DEFAULT_OVERHEAD_WINDOW_MS,
  type RunLimitsReport,
} from '@fleettrace/contracts';
import type { RunnerLimits, RunnerStart } from './protocol';

/** The run's limits with the defaults filled in. */
export function resolveRunnerLimits(limits: Partial<RunnerLimits> | undefined): RunnerLimits {
  return {
    mapMemoryBytes: limits?.mapMemoryBytes ?? DEFAULT_MAP_MEMORY_BYTES,
    eventsPerSecond: limits?.eventsPerSecond ?? DEFAULT_EVENTS_PER_SECOND,
    overheadBudgetPercent: limits?.overheadBudgetPercent ?? DEFAULT_OVERHEAD_BUDGET_PERCENT,
    overheadWindowMs: limits?.overheadWindowMs ?? DEFAULT_OVERHEAD_WINDOW_MS,
  };
}

export function limitsReport(start: RunnerStart, limits: RunnerLimits, mapMemoryEstimateBytes: number | null): RunLimitsReport {
  return {
    mapMemoryBytes: limits.mapMemoryBytes,
    mapMemoryEstimateBytes,
    eventsPerSecond: limits.eventsPerSecond,
    overheadBudgetPercent: limits.overheadBudgetPercent,
    overheadWindowMs: limits.overheadWindowMs,
    maxEventsPerOutput: start.maxEventsPerOutput,
  };
}
