import { enableProgramStats, OverheadMeter, sampleCost, type ProgramStats, type ProgramStatsSwitch } from '@fleettrace/bpf-loader';
import type { RunOverhead } from '@fleettrace/contracts';
import { monotonicNs } from './boot-clock';

/** Samples per window: the budget is judged over a sliding window, read this often. */
const SAMPLES_PER_WINDOW = 4;

const percent = (share: number): number => Math.round(share * 100 * 1000) / 1000;

/**
 * The run's overhead budget (issue 3, item 6): while the programs are attached it reads their
 * run_time_ns every quarter window and, when their BPF CPU time over the latest window exceeds the
 * budget (percent of one CPU), calls `onExceeded` once with the reason. Stats are on only while the
 * guard runs, through a BPF_ENABLE_STATS fd the kernel closes with the process, however it ends.
 * They are turned on off the JS thread (enableProgramStats), so the run's first events are not
 * held up meanwhile; the guard judges from the moment they are on.
 */
export class OverheadGuard {
  readonly #meter: OverheadMeter;
  #stats: ProgramStatsSwitch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #note: string | undefined;
  #exceeded: string | undefined;
  #startedAt = 0;
  #lastAt = -Infinity;
  #started = false;
  #stopped = false;

  constructor(
    private readonly readStats: () => ProgramStats[],
    private readonly budgetPercent: number,
    readonly windowMs: number,
    private readonly onExceeded: (reason: string) => void,
    private readonly nowNs: () => number = monotonicNs,
    private readonly enableStats: () => Promise<ProgramStatsSwitch> = enableProgramStats,
  ) {
    this.#meter = new OverheadMeter(windowMs);
  }

  /**
   * Enables stats and, once they are on, takes the first reading and starts sampling; call once the
   * programs are attached (see runSession). Never rejects: without stats the run goes on unguarded.
   * The promise is for tests; a run need not wait for it.
   */
  async start(): Promise<void> {
    this.#started = true;
    let stats: ProgramStatsSwitch;
    try {
      stats = await this.enableStats();
    } catch (error) {
      this.#note ??= `program stats unavailable, overhead budget not enforced: ${(error as Error).message}`;
      return;
    }
    // The run ended first: it has its report already, and stats go off at once.
    if (this.#stopped) {
      stats.close();
      return;
    }
    this.#stats = stats;
    this.#startedAt = this.nowNs();
    this.sample();
    this.#timer = setInterval(() => this.sample(), Math.max(1, Math.floor(this.windowMs / SAMPLES_PER_WINDOW)));
  }

  /** Takes one reading; public so tests can drive it without timers. */
  sample(): void {
    if (!this.#stats || this.#stats.closed) return;
    const at = this.nowNs();
    if (at <= this.#lastAt) return;
    this.#lastAt = at;
    this.#meter.add(sampleCost(this.readStats(), at));
    const share = this.#meter.windowShare;
    if (share === undefined || this.#exceeded || share * 100 <= this.budgetPercent) return;
    const after = (at - this.#startedAt) / 1e9;
    this.#exceeded =
      `BPF programs used ${percent(share)} % of one CPU over ${this.windowMs / 1000} s, over the run's overhead budget of ` +
      `${this.budgetPercent} %; the runner detached after ${after.toFixed(1)} s`;
    this.onExceeded(this.#exceeded);
  }

  /** Takes a last reading (call before detaching), stops sampling and turns stats off; returns what was measured. */
  stop(): RunOverhead {
    if (this.#started && !this.#stopped && this.#stats === undefined) this.#note ??= 'the run ended before the kernel had turned program stats on, overhead not measured';
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stats && !this.#stats.closed) {
      try {
        this.sample();
      } finally {
        this.#stats.close();
      }
    }
    const report = this.#meter.report();
    return {
      measured: this.#note === undefined,
      peakCpuPercent: percent(report.peakShare),
      meanCpuPercent: percent(report.meanShare),
      bpfRunTimeNs: report.runTimeNs,
      bpfRunCount: report.runCount,
      windowMs: this.windowMs,
      samples: report.samples,
      budgetExceeded: this.#exceeded !== undefined,
      ...(this.#note ? { note: this.#note } : {}),
    };
  }

  get exceeded(): string | undefined {
    return this.#exceeded;
  }
}
