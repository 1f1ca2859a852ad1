import { describe, expect, it } from 'vitest';
import { BPFTRACE_START_ALLOWANCE_SECONDS, C_COMPILE_ALLOWANCE_SECONDS } from './limits';
import {
  MAX_START_ALLOWANCE_SECONDS,
  START_ALLOWANCE_SCALE,
  runAllowanceSeconds,
  runDeadlines,
  runPhases,
  startAllowanceSeconds,
  watchdogCause,
  watchdogDeadline,
} from './run-deadline';

const bpftrace = { kind: 'bpftrace', script: 'BEGIN {}' };
const c = { kind: 'c', source: '', outputs: [] };
/** What the 6.1 guest (emulated, one CPU) measured of itself, roughly. */
const slowHost = { loaderMs: 900, bpftraceMs: 2_400, runnerStartMs: 1_300 };

describe('startAllowanceSeconds', () => {
  it('is the fixed allowance of the kind for a host that measured nothing', () => {
    expect(startAllowanceSeconds('syscount')).toBe(0);
    expect(startAllowanceSeconds(bpftrace)).toBe(BPFTRACE_START_ALLOWANCE_SECONDS);
    expect(startAllowanceSeconds(c)).toBe(C_COMPILE_ALLOWANCE_SECONDS);
  });

  it('grows by the scale times what the host measured for that kind, rounded up to whole seconds', () => {
    // catalog and C load through the runner: the loader and, over SSH, the runner's start count.
    expect(startAllowanceSeconds('syscount', slowHost)).toBe(Math.ceil((START_ALLOWANCE_SCALE * (900 + 1_300)) / 1000));
    expect(startAllowanceSeconds(c, slowHost)).toBe(C_COMPILE_ALLOWANCE_SECONDS + 22);
    // bpftrace starts by itself: only its own start counts.
    expect(startAllowanceSeconds(bpftrace, slowHost)).toBe(BPFTRACE_START_ALLOWANCE_SECONDS + 24);
    expect(startAllowanceSeconds(bpftrace, { loaderMs: 30, bpftraceMs: null })).toBe(BPFTRACE_START_ALLOWANCE_SECONDS);
    expect(startAllowanceSeconds('syscount', { loaderMs: 31, bpftraceMs: 250 })).toBe(1);
  });

  it('never passes the ceiling, whatever a host measured', () => {
    expect(startAllowanceSeconds('syscount', { loaderMs: 1e9, bpftraceMs: 1e9 })).toBe(MAX_START_ALLOWANCE_SECONDS);
  });
});

describe('runAllowanceSeconds and runDeadlines', () => {
  it('is start allowance + duration + grace', () => {
    expect(runAllowanceSeconds('syscount', 10, { graceSeconds: 5 })).toBe(15);
    expect(runAllowanceSeconds(c, 10, { graceSeconds: 5 })).toBe(C_COMPILE_ALLOWANCE_SECONDS + 15);
    expect(runAllowanceSeconds(bpftrace, 10, { graceSeconds: 5 }, slowHost)).toBe(BPFTRACE_START_ALLOWANCE_SECONDS + 24 + 15);
  });

  it('puts the end deadline that long after the start deadline, and a host reads its start allowance back from the two', () => {
    const job = { program: bpftrace, durationSeconds: 10, limits: { graceSeconds: 5 } };
    const deadlines = runDeadlines(1_000_000, 30, job, slowHost);
    expect(deadlines).toEqual({ startDeadline: 1_030_000, endDeadline: 1_030_000 + (BPFTRACE_START_ALLOWANCE_SECONDS + 24 + 15) * 1000 });
    expect(runPhases({ ...deadlines, ...job })).toEqual({ startAllowanceMs: (BPFTRACE_START_ALLOWANCE_SECONDS + 24) * 1000, durationMs: 10_000, graceMs: 5_000 });
  });

  it('reads no negative start allowance from deadlines nearer than duration + grace', () => {
    expect(runPhases({ startDeadline: 10_000, endDeadline: 12_000, durationSeconds: 10, limits: { graceSeconds: 5 } }).startAllowanceMs).toBe(0);
  });
});

describe('watchdogDeadline', () => {
  const phases = { startAllowanceMs: 20_000, durationMs: 10_000, graceMs: 5_000 };
  const end = 1_000 + 60_000;

  it('before the attach: start allowance + duration + grace from the runner\'s start (a slow start shortens the run, never fails it early)', () => {
    expect(watchdogDeadline(phases, 1_000, undefined, end)).toEqual({ at: 36_000, phase: 'start', endDeadline: false });
  });

  it('once attached: duration + grace from the attach, however long the start took, and the start allowance it did not use', () => {
    expect(watchdogDeadline(phases, 1_000, 25_000, end)).toEqual({ at: 40_000, phase: 'run', endDeadline: false });
    // Attached after 2 s of its 20: the 18 s left are the run's too (bpftrace printing its maps on a busy host).
    expect(watchdogDeadline(phases, 1_000, 3_000, end)).toEqual({ at: 36_000, phase: 'run', endDeadline: false });
  });

  it('never past the end deadline (a late take, clocks apart)', () => {
    expect(watchdogDeadline(phases, 1_000, undefined, 9_000)).toEqual({ at: 9_000, phase: 'start', endDeadline: true });
    expect(watchdogDeadline(phases, 1_000, 50_000, end)).toEqual({ at: end, phase: 'run', endDeadline: true });
    // Detached, what is left (reading and symbolizing) may take until the end deadline, however slow the host.
    expect(watchdogDeadline(phases, 1_000, 3_000, end, true)).toEqual({ at: end, phase: 'drain', endDeadline: true });
  });
});

describe('watchdogCause', () => {
  const phases = { startAllowanceMs: 39_000, durationMs: 2_000, graceMs: 5_000 };
  it('names the phase that overran, the step it was in, and the limit', () => {
    expect(watchdogCause({ phase: 'start', endDeadline: false }, phases, 'compiling')).toBe(
      'the run did not start within its start allowance + duration + grace (46 s): its host was still compiling, and the runner was killed',
    );
    expect(watchdogCause({ phase: 'start', endDeadline: false }, phases, 'loading')).toContain('still loading and attaching');
    expect(watchdogCause({ phase: 'start', endDeadline: true }, phases, 'starting')).toBe(
      "the run did not start within the run's end deadline: its host was still starting the runner, and the runner was killed",
    );
    expect(watchdogCause({ phase: 'run', endDeadline: false }, phases, 'loading')).toBe('runner did not detach within duration + grace (7 s) after it attached, and was killed');
    expect(watchdogCause({ phase: 'run', endDeadline: true }, phases, 'loading')).toBe("runner did not detach within the run's end deadline, and was killed");
    expect(watchdogCause({ phase: 'drain', endDeadline: true }, phases, 'loading')).toBe("runner detached but did not report its results by the run's end deadline, and was killed");
  });
});
