import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInCgroup } from '@fleettrace/infra';
import { workloadPath } from '@fleettrace/bpf-loader/testing';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

describe('run limits through the API', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('runlimits', 1);
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('a run over its overhead budget detaches early and is reported budget_exceeded with the measured share', async () => {
    // syscount runs on every syscall of the host (the cgroup scope is filtered inside the program):
    // under a syscall loop it costs far more than a budget of 0.001 % of one CPU (10 µs per second).
    const submittedAt = Date.now();
    const job = await submitJob(fleet.api.client, { program: 'syscount', durationSeconds: 60, limits: { overheadBudgetPercent: 0.001 } });
    await waitForRuns(fleet.api.client, job.id, ['running']);
    await runInCgroup(fleet.hosts[0].cgroupPath, workloadPath(), ['getppid', '300000']);
    const done = await waitForJobDone(fleet.api.client, job.id, 30_000);
    expect(Date.now() - submittedAt).toBeLessThan(30_000);
    const [run] = done.runs;
    expect(run.state, fleet.logs()).toBe('budget_exceeded');
    expect(run.error).toMatch(/^BPF programs used [\d.]+ % of one CPU over 1 s, over the run's overhead budget of 0\.001 %; the runner detached after [\d.]+ s$/);
    expect(run.overhead).toMatchObject({ measured: true, budgetExceeded: true, windowMs: 1000 });
    expect(run.overhead!.peakCpuPercent).toBeGreaterThan(0.001);
    expect(run.limits).toMatchObject({ overheadBudgetPercent: 0.001, mapMemoryBytes: 64 * 1024 * 1024, eventsPerSecond: 10_000 });
    expect(run.limits!.mapMemoryEstimateBytes).toBeGreaterThan(0);
    console.log(`e2e budget run: ${run.error}; ${JSON.stringify(run.overhead)}`);
  });

  it('a run whose maps exceed its map-memory limit fails before load, and its view says why', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 5, limits: { mapMemoryBytes: 64 * 1024 } });
    const done = await waitForJobDone(fleet.api.client, job.id, 30_000);
    const [run] = done.runs;
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/^maps of 'execsnoop' need an estimated [\d.]+ MiB \(\d+ bytes\), over the run's map-memory limit of 64\.0 KiB \(65536 bytes\); largest map /);
    expect(run.startedAt).toBeNull();
    expect(run.limits).toMatchObject({ mapMemoryBytes: 65_536 });
  });
});
