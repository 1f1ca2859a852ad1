import { describe, expect, it } from 'vitest';
import { defaultRunLimits, resolveRunLimits, runAllowanceSeconds } from './run-limits';

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
});

describe('runAllowanceSeconds', () => {
  it('is duration + grace, and the compile allowance too for a C program', () => {
    expect(runAllowanceSeconds('syscount', 10, { graceSeconds: 5 })).toBe(15);
    expect(runAllowanceSeconds({ kind: 'c', source: '', outputs: [] }, 10, { graceSeconds: 5 })).toBe(45);
  });
});
