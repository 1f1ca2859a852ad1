import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableProgramStats, openObject, u32 } from '@fleettrace/bpf-loader';
import { bpfObjectsHeldBy, bpfStatsHolders, bpfStatsSysctl, fixturePath, programExists, spawnGated, workloadPath } from '@fleettrace/bpf-loader/testing';
import { cgroupId, createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { summarize } from '../src/run-executor';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import { defaultRunLimits, type RunLimits } from '@fleettrace/contracts';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { ensureTestPrograms, TEST_RUNNER_MAIN } from './support/test-programs';
import { untilRunning } from './support/until-running';

type Done = Extract<RunnerMessage, { type: 'done' }>;

function start(program: string, durationSeconds: number, cgroupPath: string, extra: Omit<Partial<RunnerStart>, 'limits'> & { limits?: Partial<RunLimits> } = {}): RunnerStart {
  return {
    type: 'start',
    runId: randomUUID(),
    program,
    params: {},
    durationSeconds,
    cgroupId: cgroupId(cgroupPath).toString(),
    ...extra,
    limits: { ...defaultRunLimits(), maxEventsPerOutput: 100_000, ...extra.limits },
  };
}

describe('run limits in the runner (real kernel)', () => {
  let cgroupPath: string;
  let statsBefore: number;
  const launched: RunnerHandle[] = [];
  const launch = (s: RunnerStart, killAfterMs: number, onMessage: (m: RunnerMessage) => void): RunnerHandle => {
    const handle = launchRunner(s, killAfterMs, onMessage, TEST_RUNNER_MAIN);
    launched.push(handle);
    return handle;
  };

  beforeAll(() => {
    ensureTestPrograms();
    statsBefore = bpfStatsSysctl();
    // A top-level cgroup of our own: test files elsewhere remove fleettrace-test/ as a whole.
    cgroupPath = createCgroup(`fleettrace-limits-test-${process.pid}`);
  });
  afterAll(async () => {
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(cgroupPath);
    expect(bpfStatsSysctl(), 'kernel.bpf_stats_enabled after every run').toBe(statsBefore);
  });

  it('detaches an expensive program at its overhead budget and reports budget_exceeded with the measured share', async () => {
    const messages: RunnerMessage[] = [];
    const began = Date.now();
    const handle = launch(start('test_overhead_burner', 30, cgroupPath, { limits: { overheadBudgetPercent: 2, overheadWindowMs: 1000 } }), 40_000, (m) => messages.push(m));
    await untilRunning(messages);
    // Stats are on for the run through the runner's own BPF_ENABLE_STATS fd, not the sysctl.
    expect(bpfStatsHolders()).toContain(handle.pid);
    expect(bpfStatsSysctl()).toBe(statsBefore);
    const programs = bpfObjectsHeldBy(handle.pid).progs;
    const workload = runInCgroup(cgroupPath, workloadPath(), ['getppid', '100000']);
    const outcome = await handle.outcome;
    await workload;

    expect(outcome).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    expect(Date.now() - began).toBeLessThan(15_000);
    const done = messages.at(-1) as Done;
    expect(done.type).toBe('done');
    expect(messages.filter((m) => m.type === 'state').map((m) => (m as { state: string }).state)).toEqual(['loading', 'running', 'draining']);
    expect(done.budgetExceeded).toMatch(/^BPF programs used [\d.]+ % of one CPU over 1 s, over the run's overhead budget of 2 %; the runner detached after [\d.]+ s$/);
    expect(done.overhead).toMatchObject({ measured: true, budgetExceeded: true, windowMs: 1000 });
    expect(done.overhead!.peakCpuPercent).toBeGreaterThan(2);
    expect(done.overhead!.bpfRunCount).toBeGreaterThan(0);
    expect(done.limits).toMatchObject({ overheadBudgetPercent: 2, overheadWindowMs: 1000 });
    console.log(`budget run: ${done.budgetExceeded}; overhead ${JSON.stringify(done.overhead)}`);

    const summary = summarize('r', 1, outcome, done, undefined);
    expect(summary).toMatchObject({ state: 'budget_exceeded', error: done.budgetExceeded, overhead: done.overhead, limits: done.limits });

    await waitFor('the runner\'s programs freed', async () => programs.filter(programExists).length === 0, 5_000, 20);
    expect(bpfStatsHolders()).not.toContain(handle.pid);
    expect(bpfStatsSysctl()).toBe(statsBefore);
  });

  it('stays within budget for a cheap run and still reports the measured overhead', async () => {
    const messages: RunnerMessage[] = [];
    // The program runs (and costs a little) on every getppid of the machine before its cgroup check:
    // a generous budget keeps a neighbour's getppid storm on a shared test machine from ending it.
    const handle = launch(start('test_overhead_burner', 2, cgroupPath, { params: { spinLoops: 1 }, limits: { overheadBudgetPercent: 25 } }), 10_000, (m) => messages.push(m));
    await untilRunning(messages);
    await runInCgroup(cgroupPath, workloadPath(), ['getppid', '1000']);
    await handle.outcome;
    const done = messages.at(-1) as Done;
    expect(done).toMatchObject({ type: 'done', stoppedEarly: false, overhead: { measured: true, budgetExceeded: false } });
    expect(done.budgetExceeded).toBeUndefined();
    expect(done.overhead!.peakCpuPercent).toBeLessThan(25);
    expect(done.overhead!.bpfRunCount).toBeGreaterThanOrEqual(1000);
    expect(done.overhead!.bpfRunTimeNs).toBeGreaterThan(0);
    expect(done.overhead!.samples).toBeGreaterThanOrEqual(4);
    console.log(`cheap run overhead ${JSON.stringify(done.overhead)}`);
  });

  it('turns stats off again when the runner is SIGKILLed: the sysctl keeps its value and nothing holds a stats fd for it', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start('test_overhead_burner', 30, cgroupPath, { limits: { overheadBudgetPercent: 100 } }), 40_000, (m) => messages.push(m));
    await untilRunning(messages);
    expect(bpfStatsHolders()).toContain(handle.pid);
    process.kill(handle.pid, 'SIGKILL');
    const outcome = await handle.outcome;
    expect(outcome.signal).toBe('SIGKILL');
    expect(bpfStatsHolders()).not.toContain(handle.pid);
    expect(bpfStatsSysctl()).toBe(statsBefore);

    // With the sysctl off and no stats fd anywhere, the kernel is back to not counting: a program
    // run now accumulates no run time. (Skipped when something else on the host keeps stats on.)
    if (statsBefore === 0 && bpfStatsHolders().length === 0) {
      const generator = spawnGated(workloadPath(), ['getppid', '1000']);
      const spec = openObject(fixturePath('burst'));
      spec.setGlobal('target_tgid', u32(generator.pid));
      const obj = spec.load();
      try {
        obj.attachAll();
        const consumer = obj.ringBuffer('events', () => {});
        generator.release();
        await generator.exited;
        await consumer.stop();
        if (bpfStatsHolders().length === 0) expect(obj.programStats()[0]!.runTimeNs).toBe(0);
        // ...and a stats fd of our own turns counting on, proving the check above can fail.
        using stats = await enableProgramStats();
        expect(stats.closed).toBe(false);
      } finally {
        await generator.kill();
        await obj.close();
      }
    }
  });

  it('caps events per second in the kernel and reports those dropped by rate apart from those dropped by the per-output cap', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(
      start('test_rate_events', 2, cgroupPath, { limits: { maxEventsPerOutput: 300, eventsPerSecond: 1000 } }),
      10_000,
      (m) => messages.push(m),
    );
    await untilRunning(messages);
    // 20000 getppid calls take a few ms: they fall in one or two one-second windows of the cap.
    await runInCgroup(cgroupPath, workloadPath(), ['getppid', '20000']);
    await handle.outcome;
    const done = messages.at(-1) as Done;
    expect(done.type).toBe('done');
    const { events, droppedEvents, droppedByRate } = done.counters;
    expect(events + droppedByRate!).toBe(20_000);
    expect(events).toBeGreaterThanOrEqual(1000);
    expect(events).toBeLessThanOrEqual(2000);
    expect(droppedEvents).toBe(events - 300);
    expect(done.events).toEqual([{ kind: 'events', name: 'getppid', received: events, dropped: events - 300 }]);
    expect(messages.flatMap((m) => (m.type === 'events' ? m.records : []))).toHaveLength(300);
    expect(done.limits).toMatchObject({ eventsPerSecond: 1000, maxEventsPerOutput: 300 });
    console.log(`rate run counters ${JSON.stringify(done.counters)}`);
  });

  it('fails a run whose maps exceed its map-memory limit before load, naming the map and the numbers', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start('test_rate_events', 2, cgroupPath, { limits: { mapMemoryBytes: 512 * 1024 } }), 10_000, (m) => messages.push(m));
    await handle.outcome;
    const failed = messages.at(-1) as Extract<RunnerMessage, { type: 'failed' }>;
    expect(failed.type).toBe('failed');
    expect(failed.error).toMatch(
      /^maps of 'rate_events' need an estimated 1\.\d MiB \(\d+ bytes\), over the run's map-memory limit of 512\.0 KiB \(524288 bytes\); largest map 'events' \(ringbuf, 1048576 entries, key 0 B, value 0 B\) ≈ 1\.0 MiB$/,
    );
    expect(failed.limits).toMatchObject({ mapMemoryBytes: 524_288 });
    expect(failed.limits!.mapMemoryEstimateBytes).toBeGreaterThan(1024 * 1024);
    // Nothing was loaded: the runner never said it was running.
    expect(messages.some((m) => m.type === 'state' && m.state === 'running')).toBe(false);
    const summary = summarize('r', 1, { exitCode: 0, signal: null, killedByWatchdog: false, stderrTail: '' }, failed, undefined);
    expect(summary).toMatchObject({ state: 'failed', error: failed.error, limits: failed.limits });
  });
});
