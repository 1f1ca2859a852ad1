import { afterEach, describe, expect, it } from 'vitest';
import { enableProgramStats, type LoadedObject, OverheadMeter, openObject, type ProgramStatsSwitch, sampleCost, u32 } from '../src/index';
import { bpfStatsHolders, bpfStatsSysctl, fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const MS = 1e6;

describe('OverheadMeter (share of one CPU)', () => {
  it('has no window share until a full window is measured, then the share over the latest window', () => {
    const meter = new OverheadMeter(1000);
    meter.add({ atNs: 0, runTimeNs: 0, runCount: 0 });
    meter.add({ atNs: 500 * MS, runTimeNs: 5 * MS, runCount: 10 });
    expect(meter.windowShare).toBeUndefined();
    meter.add({ atNs: 1000 * MS, runTimeNs: 10 * MS, runCount: 20 });
    expect(meter.windowShare).toBeCloseTo(0.01); // 10 ms of BPF time per second: 1 % of one CPU
    meter.add({ atNs: 1500 * MS, runTimeNs: 60 * MS, runCount: 30 });
    // Window starts at the newest sample at least 1 s old (500 ms): 55 ms over 1 s.
    expect(meter.windowShare).toBeCloseTo(0.055);
    meter.add({ atNs: 2500 * MS, runTimeNs: 60 * MS, runCount: 30 });
    expect(meter.windowShare).toBeCloseTo(0);
    const report = meter.report();
    expect(report.peakShare).toBeCloseTo(0.055);
    expect(report.meanShare).toBeCloseTo(60 / 2500);
    expect(report).toMatchObject({ runTimeNs: 60 * MS, runCount: 30, elapsedNs: 2500 * MS, windowMs: 1000, samples: 5 });
  });

  it('reports the mean as the peak when the run is shorter than a window, and zero when never sampled twice', () => {
    const meter = new OverheadMeter(1000);
    expect(meter.report()).toMatchObject({ peakShare: 0, meanShare: 0, samples: 0 });
    meter.add({ atNs: 0, runTimeNs: 0, runCount: 0 });
    meter.add({ atNs: 400 * MS, runTimeNs: 8 * MS, runCount: 1 });
    expect(meter.report().peakShare).toBeCloseTo(0.02);
  });

  it('counts programs on several CPUs past one CPU, and sums programs', () => {
    const meter = new OverheadMeter(100);
    meter.add(sampleCost([], 0));
    const stats = [
      { name: 'a', id: 1, runTimeNs: 150 * MS, runCount: 3, recursionMisses: 0 },
      { name: 'b', id: 2, runTimeNs: 50 * MS, runCount: 1, recursionMisses: 0 },
    ];
    meter.add(sampleCost(stats, 100 * MS));
    expect(meter.windowShare).toBeCloseTo(2);
  });

  it('rejects samples out of time order and a non-positive window', () => {
    const meter = new OverheadMeter(1000);
    meter.add({ atNs: 10, runTimeNs: 0, runCount: 0 });
    expect(() => meter.add({ atNs: 10, runTimeNs: 0, runCount: 0 })).toThrow('cost samples must be added in time order');
    expect(() => new OverheadMeter(0)).toThrow('windowMs must be positive, got 0');
  });
});

describe('program stats (real kernel)', () => {
  let generator: GatedProcess | undefined;
  let obj: LoadedObject | undefined;
  let stats: ProgramStatsSwitch | undefined;
  afterEach(async () => {
    stats?.close();
    await generator?.kill();
    await obj?.close().catch(() => undefined);
    generator = obj = stats = undefined;
  });

  it('counts run_time_ns and run_cnt while a stats fd is open, without touching the sysctl', async () => {
    const before = bpfStatsSysctl();
    generator = spawnGated(workloadPath(), ['getppid', '20000']);
    const spec = openObject(fixturePath('burst'));
    spec.setGlobal('target_tgid', u32(generator.pid));
    obj = spec.load();
    kernel.track(obj);
    stats = await enableProgramStats();
    expect(bpfStatsHolders()).toContain(process.pid);
    obj.attachAll();
    const consumer = obj.ringBuffer('events', () => {});
    generator.release();
    await generator.exited;
    await consumer.stop();
    const [burst] = obj.programStats();
    expect(burst).toMatchObject({ name: 'ft_burst' });
    // Every getppid on the host runs the program; the generator's 20000 at least.
    expect(burst!.runCount).toBeGreaterThanOrEqual(20_000);
    expect(burst!.runTimeNs).toBeGreaterThan(0);
    expect(bpfStatsSysctl()).toBe(before);

    stats.close();
    stats.close(); // idempotent
    expect(bpfStatsHolders()).not.toContain(process.pid);
    expect(bpfStatsSysctl()).toBe(before);
  });
});
