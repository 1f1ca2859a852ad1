import { describe, expect, it } from 'vitest';
import { capRunWarnings, MAX_RUN_WARNING_LENGTH, MAX_RUN_WARNINGS, RunWarnings } from './run-warnings';

describe('capRunWarnings', () => {
  it('is undefined without warnings', () => {
    expect(capRunWarnings(undefined)).toBeUndefined();
    expect(capRunWarnings([])).toBeUndefined();
  });

  it('keeps the first distinct warnings in order, counts every distinct one, and cuts long ones', () => {
    const many = Array.from({ length: MAX_RUN_WARNINGS + 5 }, (_, i) => `warning ${i}`);
    const long = 'x'.repeat(MAX_RUN_WARNING_LENGTH + 10);
    const capped = capRunWarnings([long, long, ...many, 'warning 0'])!;
    expect(capped.distinct).toBe(MAX_RUN_WARNINGS + 6);
    expect(capped.first).toHaveLength(MAX_RUN_WARNINGS);
    expect(capped.first[0]).toBe(`${'x'.repeat(MAX_RUN_WARNING_LENGTH - 1)}…`);
    expect(capped.first.slice(1, 3)).toEqual(['warning 0', 'warning 1']);
    expect(RunWarnings.parse(capped)).toEqual(capped);
  });
});
