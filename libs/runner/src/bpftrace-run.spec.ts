import { describe, expect, it } from 'vitest';
import { printGraceMs } from './bpftrace-run';

describe('printGraceMs', () => {
  it('gives bpftrace all the time left before the watchdog, less a margin to report', () => {
    expect(printGraceMs(10_000, 4_000)).toBe(5_500);
  });

  it('keeps a floor when the deadline is near, and a default when it is unknown', () => {
    expect(printGraceMs(10_000, 9_900)).toBe(500);
    expect(printGraceMs(undefined, 0)).toBe(2_000);
  });
});
