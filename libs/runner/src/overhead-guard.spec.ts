import { describe, expect, it } from 'vitest';
import type { ProgramStats, ProgramStatsSwitch } from '@fleettrace/bpf-loader';
import { OverheadGuard } from './overhead-guard';

const MS = 1e6;

/** A guard over a fake clock and fake program stats, driven by sample() instead of timers. */
function rig(budgetPercent: number, statsOk = true, statsOn: Promise<void> = Promise.resolve()) {
  let now = 0;
  let runTimeNs = 0;
  let closed = false;
  const reasons: string[] = [];
  const stats: ProgramStats[] = [{ name: 'p', id: 1, runTimeNs: 0, runCount: 0, recursionMisses: 0 }];
  const guard = new OverheadGuard(
    () => stats.map((s) => ({ ...s, runTimeNs, runCount: runTimeNs / 1000 })),
    budgetPercent,
    1000,
    (reason) => reasons.push(reason),
    () => now,
    async () => {
      await statsOn;
      if (!statsOk) throw new Error('enable stats: EPERM');
      return { get closed() { return closed; }, close: () => void (closed = true) } as unknown as ProgramStatsSwitch;
    },
  );
  return {
    guard,
    reasons,
    statsClosed: () => closed,
    /** Advances time by `ms`, the programs having used `bpfMs` of CPU meanwhile, then samples. */
    step(ms: number, bpfMs: number) {
      now += ms * MS;
      runTimeNs += bpfMs * MS;
      guard.sample();
    },
  };
}

describe('OverheadGuard', () => {
  it('calls out once when the share over a full window exceeds the budget, and reports peak and mean', async () => {
    const r = rig(2);
    await r.guard.start();
    for (let i = 0; i < 4; i++) r.step(250, 2); // 8 ms per s: 0.8 %
    expect(r.reasons).toEqual([]);
    r.step(250, 10);
    expect(r.reasons).toEqual([]); // 2 + 2 + 2 + 10 ms over the latest second: 1.6 %
    r.step(250, 10); // the window slides: 2 + 2 + 10 + 10 ms, 2.4 %
    expect(r.reasons).toEqual(["BPF programs used 2.4 % of one CPU over 1 s, over the run's overhead budget of 2 %; the runner detached after 1.5 s"]);
    for (let i = 0; i < 3; i++) r.step(250, 10); // 40 ms per s: 4 %
    expect(r.reasons).toHaveLength(1);
    const overhead = r.guard.stop();
    expect(overhead).toEqual({
      measured: true,
      peakCpuPercent: 4,
      meanCpuPercent: 2.578, // 58 ms over 2.25 s
      bpfRunTimeNs: 58 * MS,
      bpfRunCount: 58_000,
      windowMs: 1000,
      samples: 10,
      budgetExceeded: true,
    });
    expect(r.statsClosed()).toBe(true);
  });

  it('does not judge before a full window: a short burst at the start is averaged over the window', async () => {
    const r = rig(2);
    await r.guard.start();
    r.step(250, 15); // 6 % over a quarter window...
    r.step(250, 0);
    r.step(250, 0);
    expect(r.reasons).toEqual([]);
    r.step(250, 0); // ...1.5 % over the window
    expect(r.reasons).toEqual([]);
    expect(r.guard.stop()).toMatchObject({ peakCpuPercent: 1.5, budgetExceeded: false });
  });

  it('runs unguarded, saying why, when the kernel will not collect stats', async () => {
    const r = rig(2, false);
    await r.guard.start();
    r.step(2000, 1000);
    expect(r.reasons).toEqual([]);
    expect(r.guard.stop()).toEqual({
      measured: false,
      peakCpuPercent: 0,
      meanCpuPercent: 0,
      bpfRunTimeNs: 0,
      bpfRunCount: 0,
      windowMs: 1000,
      samples: 0,
      budgetExceeded: false,
      note: 'program stats unavailable, overhead budget not enforced: enable stats: EPERM',
    });
  });

  it('judges from the moment stats are on, and a run that ends before then turns them off as they come, unmeasured', async () => {
    let turnOn!: () => void;
    const r = rig(2, true, new Promise((resolve) => (turnOn = resolve)));
    const started = r.guard.start();
    r.step(2000, 1000); // before stats are on: not read, not judged
    expect(r.reasons).toEqual([]);
    expect(r.guard.stop()).toMatchObject({
      measured: false,
      samples: 0,
      note: 'the run ended before the kernel had turned program stats on, overhead not measured',
    });
    turnOn();
    await started;
    expect(r.statsClosed()).toBe(true);
    r.step(2000, 1000);
    expect(r.reasons).toEqual([]);
  });

  it('reports a guard never started (the run ended before its attach) as measured over nothing', () => {
    const r = rig(2);
    expect(r.guard.stop()).toMatchObject({ measured: true, samples: 0, budgetExceeded: false });
    expect(r.guard.stop()).not.toHaveProperty('note');
  });
});
