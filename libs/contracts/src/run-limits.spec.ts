import { describe, expect, it } from 'vitest';
import { defaultRunLimits, resolveRunLimits } from './run-limits';

describe('resolveRunLimits', () => {
  it('fills in every limit once: the job\'s overrides over the defaults', () => {
    expect(resolveRunLimits({ eventsPerSecond: 50 })).toEqual({ limits: { ...defaultRunLimits(), eventsPerSecond: 50 } });
    expect(defaultRunLimits()).toEqual({
      graceSeconds: 5,
      maxEventsPerOutput: 10_000,
      maxEntriesPerOutput: 10_000,
      mapMemoryBytes: 64 * 1024 * 1024,
      eventsPerSecond: 10_000,
      overheadBudgetPercent: 2,
      overheadWindowMs: 1000,
    });
  });

  it('refuses an override over the policy, naming the field, and lowers the defaults to it', () => {
    expect(resolveRunLimits({ mapMemoryBytes: 8192 }, { maxMapMemoryBytes: 4096 })).toEqual({ error: 'limits.mapMemoryBytes must be at most 4096 bytes' });
    expect(resolveRunLimits(undefined, { maxEventsPerSecond: 10 })).toMatchObject({ limits: { eventsPerSecond: 10 } });
  });

  it('gives a job that asks for no budget the policy\'s default budget, never above its highest', () => {
    expect(resolveRunLimits(undefined, { defaultOverheadBudgetPercent: 25 })).toMatchObject({ limits: { overheadBudgetPercent: 25 } });
    expect(resolveRunLimits({ overheadBudgetPercent: 1 }, { defaultOverheadBudgetPercent: 25 })).toMatchObject({ limits: { overheadBudgetPercent: 1 } });
    expect(resolveRunLimits(undefined, { defaultOverheadBudgetPercent: 25, maxOverheadBudgetPercent: 10 })).toMatchObject({ limits: { overheadBudgetPercent: 10 } });
  });
});
