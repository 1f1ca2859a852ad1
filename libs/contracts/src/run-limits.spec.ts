import { describe, expect, it } from 'vitest';
import { BPFTRACE_START_ALLOWANCE_SECONDS, C_COMPILE_ALLOWANCE_SECONDS } from './limits';
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
  it('is duration + grace, and the start allowance too for a program its host compiles', () => {
    expect(runAllowanceSeconds('syscount', 10, { graceSeconds: 5 })).toBe(15);
    expect(runAllowanceSeconds({ kind: 'c', source: '', outputs: [] }, 10, { graceSeconds: 5 })).toBe(C_COMPILE_ALLOWANCE_SECONDS + 15);
    expect(runAllowanceSeconds({ kind: 'bpftrace', script: 'BEGIN {}' }, 10, { graceSeconds: 5 })).toBe(BPFTRACE_START_ALLOWANCE_SECONDS + 15);
  });
});
