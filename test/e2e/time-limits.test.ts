import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRACE_SECONDS } from '@fleettrace/contracts';
import { isAlive, waitFor } from '@fleettrace/infra/stack';
import { bpfObjectsOfPid, runnerPid, waitForFreed } from '../support/bpf-objects';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

describe('time limits and clean detach', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('limits', 1);
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('a 3-second job finishes within 3 s + the grace', async () => {
    const submittedAt = Date.now();
    const job = await submitJob(fleet.api.client, { program: 'runqlat', durationSeconds: 3 });
    const done = await waitForJobDone(fleet.api.client, job.id, 30_000);
    const elapsed = (Date.now() - submittedAt) / 1000;
    expect(done.runs[0].state).toBe('succeeded');
    expect(elapsed).toBeGreaterThanOrEqual(3);
    expect(elapsed).toBeLessThanOrEqual(3 + DEFAULT_GRACE_SECONDS);
    const run = done.runs[0];
    const ranFor = (Date.parse(run.finishedAt!) - Date.parse(run.startedAt!)) / 1000;
    expect(ranFor).toBeGreaterThanOrEqual(3);
    expect(ranFor).toBeLessThanOrEqual(3 + DEFAULT_GRACE_SECONDS);
  });

  it('SIGKILL of a runner mid-run: the run fails with the reason and none of its BPF objects remain', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 30 });
    const runId = job.runs[0].id;
    await waitForRuns(fleet.api.client, job.id, ['running']);
    const pid = runnerPid(runId);
    expect(pid, 'runner process of the run').toBeDefined();
    const held = bpfObjectsOfPid(pid!);
    expect(held.progs.length).toBeGreaterThan(0);
    expect(held.links.length).toBeGreaterThan(0);
    expect(held.maps.length).toBeGreaterThan(0);

    process.kill(pid!, 'SIGKILL');
    const done = await waitForJobDone(fleet.api.client, job.id, 20_000);
    expect(done.runs[0].state).toBe('failed');
    expect(done.runs[0].error).toBe('runner was killed by SIGKILL before reporting results');
    await waitFor('runner gone', async () => !isAlive(pid!));
    // The kernel frees them after an RCU grace period: a moment, not forever.
    await waitForFreed(held, "the runner's BPF objects");
  });
});
