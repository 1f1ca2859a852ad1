import { z } from 'zod';
import { apiComponent } from './api-components';
import { BPFTRACE_START_ALLOWANCE_SECONDS, C_COMPILE_ALLOWANCE_SECONDS } from './limits';

/**
 * A run's time, in one place (ARCHITECTURE "Time limits, in layers"; issue 14: computed once and
 * stored on the run). A run has two phases on its host:
 * - its start: the runner starting, a compile (C, bpftrace), the load (the verifier) and the attach,
 *   bounded by the host's start allowance plus the grace;
 * - its run: from the attach, the duration plus the grace to detach, drain and report.
 * The API computes the end deadline from the start deadline, the start allowance (scaled by what
 * the host measured of its own start: a slow host, like an emulated guest, gets the time it needs),
 * the duration and the grace, and stores it on the run. A host derives its start allowance back from
 * the dispatch's two deadlines (runPhases), so the daemon's watchdog, the SSH gateway's and the
 * reaper all go by the one stored value.
 */

/**
 * What a host measured of its own start costs when it was probed (the capability report): a slow
 * host's start allowance grows with them.
 */
export const StartTimings = z.object({
  /** A catalog object opened, loaded (the verifier ran) and closed by the loader, in ms. */
  loaderMs: z.number().nonnegative(),
  /** `bpftrace -e 'BEGIN { exit() }'` from spawn to exit, in ms (LLVM's start, a compile, an attach); null without bpftrace. */
  bpftraceMs: z.number().nonnegative().nullable(),
  /** On a host reached over SSH: the runner's start there (a channel, node, the bundle and addon loaded), in ms. */
  runnerStartMs: z.number().nonnegative().optional(),
});
export type StartTimings = z.infer<typeof StartTimings>;
apiComponent('StartTimings', StartTimings);

/**
 * How many times its measured start a host gets on top of the fixed allowance: a real program is
 * bigger than the probe's, and the host may be busier at the run than when it was probed.
 */
export const START_ALLOWANCE_SCALE = 10;
/** Whatever a host measured, a run's start never gets more than this. */
export const MAX_START_ALLOWANCE_SECONDS = 600;

/**
 * Seconds a run of this program may take to start on its host (before the grace): a fixed part by
 * kind (a C program or a bpftrace script compiles there; a catalog program is compiled already),
 * plus START_ALLOWANCE_SCALE times the host's measured start for that kind, when it measured it.
 */
export function startAllowanceSeconds(program: string | { kind: string }, timings?: StartTimings): number {
  const kind = typeof program === 'string' ? 'catalog' : program.kind;
  const fixed = kind === 'c' ? C_COMPILE_ALLOWANCE_SECONDS : kind === 'bpftrace' ? BPFTRACE_START_ALLOWANCE_SECONDS : 0;
  if (!timings) return fixed;
  // bpftrace runs by itself (no runner: over SSH the gateway starts it directly); the other kinds load through the runner.
  const measuredMs = kind === 'bpftrace' ? (timings.bpftraceMs ?? 0) : timings.loaderMs + (timings.runnerStartMs ?? 0);
  return Math.min(MAX_START_ALLOWANCE_SECONDS, fixed + Math.ceil((START_ALLOWANCE_SCALE * measuredMs) / 1000));
}

/** How long a run may take once its host takes it: start allowance, duration and grace. */
export function runAllowanceSeconds(
  program: string | { kind: string },
  durationSeconds: number,
  limits: { graceSeconds: number },
  timings?: StartTimings,
): number {
  return startAllowanceSeconds(program, timings) + durationSeconds + limits.graceSeconds;
}

/** A run's deadlines as the API stores them (epoch ms). */
export interface RunDeadlineTimes {
  /** After it the host must not start the run: it reports `missed`. */
  startDeadline: number;
  /** By it the run has ended whatever happens: the host's watchdog kills by then, the reaper gives up after. */
  endDeadline: number;
}

/** The deadlines of a run released at `releasedAt` to a host that measured `timings`. */
export function runDeadlines(
  releasedAt: number,
  startDeadlineSeconds: number,
  job: { program: string | { kind: string }; durationSeconds: number; limits: { graceSeconds: number } },
  timings?: StartTimings,
): RunDeadlineTimes {
  const startDeadline = releasedAt + startDeadlineSeconds * 1000;
  return { startDeadline, endDeadline: startDeadline + runAllowanceSeconds(job.program, job.durationSeconds, job.limits, timings) * 1000 };
}

/** A run's phases in ms, as its host reads them from its dispatch. */
export interface RunPhases {
  startAllowanceMs: number;
  durationMs: number;
  graceMs: number;
}

/**
 * The phases of a dispatched run, its start allowance read back from its stored deadlines (the end
 * deadline is the start deadline plus start allowance, duration and grace): the host needs no
 * measurement of its own, and agrees with the API and the reaper.
 */
export function runPhases(dispatch: RunDeadlineTimes & { durationSeconds: number; limits: { graceSeconds: number } }): RunPhases {
  const durationMs = dispatch.durationSeconds * 1000;
  const graceMs = dispatch.limits.graceSeconds * 1000;
  return { startAllowanceMs: Math.max(0, dispatch.endDeadline - dispatch.startDeadline - durationMs - graceMs), durationMs, graceMs };
}

export type RunPhase = 'start' | 'run' | 'drain';

/** When the watchdog kills a run's runner, and in which phase. */
export interface WatchdogDeadline {
  at: number;
  phase: RunPhase;
  /** The run's end deadline came before the phase's own limit. */
  endDeadline: boolean;
}

/**
 * The watchdog's rule: before the program attached, start allowance + duration + grace from when
 * the host started the runner (a start slower than its allowance eats into the duration, as it
 * always did: a busy host still gets a shorter run, not a failed one); once attached, duration +
 * grace from the attach (the duration runs from it, so a slow start no longer shortens the run), or
 * the whole of it from the start when that is later; once detached, the end deadline; never past
 * the run's end deadline.
 */
export function watchdogDeadline(phases: RunPhases, startedAt: number, attachedAt: number | undefined, endDeadline: number, detached = false): WatchdogDeadline {
  // Detached (the runner reported `draining`), the run holds nothing in the kernel: reading its last
  // events and maps, and symbolizing its stacks, may take until the end deadline. On a slow host
  // (the emulated 6.1 guest: offcputime's stacks took 25 s there) that is far more than the grace.
  if (detached) return { at: endDeadline, phase: 'drain', endDeadline: true };
  const phase: RunPhase = attachedAt === undefined ? 'start' : 'run';
  const whole = startedAt + phases.startAllowanceMs + phases.durationMs + phases.graceMs;
  const own = attachedAt === undefined ? whole : Math.max(attachedAt + phases.durationMs + phases.graceMs, whole);
  return own <= endDeadline ? { at: own, phase, endDeadline: false } : { at: endDeadline, phase, endDeadline: true };
}

/** The step a run was in when its start overran, as its runner last reported it. */
export type StartStep = 'starting' | 'compiling' | 'loading';

const STEP_WORDS: Record<StartStep, string> = {
  starting: 'starting the runner',
  compiling: 'compiling',
  loading: 'loading and attaching',
};

/** Why a runner the watchdog killed ended `timed_out`: which phase overran, and its limit. */
export function watchdogCause(deadline: Omit<WatchdogDeadline, 'at'>, phases: RunPhases, step: StartStep): string {
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  if (deadline.phase === 'drain') return "runner detached but did not report its results by the run's end deadline, and was killed";
  if (deadline.phase === 'start') {
    const limit = deadline.endDeadline ? "the run's end deadline" : `its start allowance + duration + grace (${seconds(phases.startAllowanceMs + phases.durationMs + phases.graceMs)})`;
    return `the run did not start within ${limit}: its host was still ${STEP_WORDS[step]}, and the runner was killed`;
  }
  const limit = deadline.endDeadline ? "the run's end deadline" : `duration + grace (${seconds(phases.durationMs + phases.graceMs)}) after it attached`;
  return `runner did not detach within ${limit}, and was killed`;
}
