// What loaded programs cost: the kernel's run_time_ns / run_cnt per program, the switch that makes
// the kernel count them, and the arithmetic that turns two readings into a share of one CPU.
import { native } from './binding';
import type { ObjectHandle, StatsHandle } from './native';

export interface ProgramStats {
  readonly name: string;
  /** Kernel program id. */
  readonly id: number;
  /** Total time spent in the program, over every CPU, since load (only while stats are enabled). */
  readonly runTimeNs: number;
  readonly runCount: number;
  /** Runs the kernel skipped because the program was already running on that CPU. */
  readonly recursionMisses: number;
}

/** @internal used by LoadedObject.programStats() */
export function readProgramStats(handle: ObjectHandle): ProgramStats[] {
  return native().programStats(handle);
}

/**
 * Keeps the kernel collecting run_time_ns / run_cnt (BPF_ENABLE_STATS) until close(). It holds a
 * file descriptor, not the `kernel.bpf_stats_enabled` sysctl: the kernel counts the open fds and
 * switches stats off when the last one closes, also when the process is SIGKILLed, so nothing
 * has to "restore" the sysctl (which this never writes and which keeps showing its own value).
 */
export class ProgramStatsSwitch implements Disposable {
  #handle: StatsHandle | undefined;

  /** @internal use enableProgramStats() */
  constructor(handle: StatsHandle) {
    this.#handle = handle;
  }

  get closed(): boolean {
    return this.#handle === undefined;
  }

  close(): void {
    if (this.#handle === undefined) return;
    native().disableStats(this.#handle);
    this.#handle = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Turns on BPF run-time statistics for as long as the returned switch is open; rejects with
 * BpfError (EPERM, EINVAL on kernels before 5.8) when it cannot. Asynchronous because the kernel
 * takes milliseconds to flip its switch (prog_stats.c), which would stall the events of programs
 * already attached.
 */
export async function enableProgramStats(): Promise<ProgramStatsSwitch> {
  return new ProgramStatsSwitch(await native().enableStats());
}

/** One reading of the programs' cumulative cost at a monotonic time. */
export interface CostSample {
  /** Monotonic clock, ns (process.hrtime.bigint() as a number is fine for a run's span). */
  readonly atNs: number;
  /** Sum of run_time_ns over the programs. */
  readonly runTimeNs: number;
  /** Sum of run_cnt over the programs. */
  readonly runCount: number;
}

export function sampleCost(stats: readonly ProgramStats[], atNs: number): CostSample {
  let runTimeNs = 0;
  let runCount = 0;
  for (const s of stats) {
    runTimeNs += s.runTimeNs;
    runCount += s.runCount;
  }
  return { atNs, runTimeNs, runCount };
}

export interface OverheadReport {
  /** Highest share of one CPU over any full window (the whole span when shorter than a window). */
  readonly peakShare: number;
  /** Share of one CPU over everything measured. */
  readonly meanShare: number;
  readonly runTimeNs: number;
  readonly runCount: number;
  readonly elapsedNs: number;
  readonly windowMs: number;
  readonly samples: number;
}

/**
 * BPF CPU time as a share of one CPU (1 = one CPU busy all the time; programs on several CPUs can
 * add up past 1). Feed it cumulative samples in time order; after each, `windowShare` is the share
 * over the latest span of at least `windowMs` (undefined until that much has been measured).
 */
export class OverheadMeter {
  readonly windowMs: number;
  readonly #windowNs: number;
  #first: CostSample | undefined;
  #last: CostSample | undefined;
  // Samples that may still start a window: the newest one at least a window old, and those after it.
  #recent: CostSample[] = [];
  #peak: number | undefined;
  #windowShare: number | undefined;
  #samples = 0;

  constructor(windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    this.windowMs = windowMs;
    this.#windowNs = windowMs * 1e6;
  }

  add(sample: CostSample): void {
    if (this.#last && sample.atNs <= this.#last.atNs) throw new RangeError('cost samples must be added in time order');
    this.#samples++;
    this.#first ??= sample;
    this.#last = sample;
    this.#recent.push(sample);
    // Drop starts that a later one, still a full window back, replaces.
    while (this.#recent.length > 1 && sample.atNs - this.#recent[1]!.atNs >= this.#windowNs) this.#recent.shift();
    const start = this.#recent[0]!;
    if (start !== sample && sample.atNs - start.atNs >= this.#windowNs) {
      this.#windowShare = share(start, sample);
      this.#peak = Math.max(this.#peak ?? 0, this.#windowShare);
    } else {
      this.#windowShare = undefined;
    }
  }

  /** Share over the latest full window, or undefined while less than a window has been measured. */
  get windowShare(): number | undefined {
    return this.#windowShare;
  }

  report(): OverheadReport {
    const first = this.#first;
    const last = this.#last;
    const mean = first && last && last !== first ? share(first, last) : 0;
    return {
      peakShare: this.#peak ?? mean,
      meanShare: mean,
      runTimeNs: first && last ? last.runTimeNs - first.runTimeNs : 0,
      runCount: first && last ? last.runCount - first.runCount : 0,
      elapsedNs: first && last ? last.atNs - first.atNs : 0,
      windowMs: this.windowMs,
      samples: this.#samples,
    };
  }
}

function share(from: CostSample, to: CostSample): number {
  const elapsed = to.atNs - from.atNs;
  return elapsed > 0 ? Math.max(0, to.runTimeNs - from.runTimeNs) / elapsed : 0;
}
