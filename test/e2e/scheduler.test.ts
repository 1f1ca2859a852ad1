import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObject } from '@fleettrace/bpf-loader';
import { fixturePath } from '@fleettrace/bpf-loader/testing';
import type { EventsView, JobResultsView, JobView } from '@fleettrace/contracts';
import { countGetpriorityCSource, runInCgroup } from '@fleettrace/infra';
import { isAlive, waitFor } from '@fleettrace/infra/stack';
import { bpfObjectsOfPid, runnerPid, waitForFreed } from '../support/bpf-objects';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

/**
 * The id the kernel gives the next program it loads: ids only grow, so the ids taken between two
 * readings are every program any process loaded in between, even ones freed since.
 */
function nextProgramId(): number {
  const spec = openObject(fixturePath('untargeted'));
  try {
    const loaded = spec.load();
    try {
      return Math.max(...loaded.programInfo().map((p) => p.id));
    } finally {
      void loaded.close();
    }
  } finally {
    spec.close();
  }
}

/** The C program of the catalog's tests, broken so that the verifier rejects it on every kernel. */
const REJECTED_C = {
  kind: 'c' as const,
  source: countGetpriorityCSource().replace('if (v) __sync_fetch_and_add(v, 1);\n  else bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);', '__sync_fetch_and_add(v, one);'),
  outputs: [{ kind: 'counts' as const, map: 'counts', unit: 'calls' }],
};

describe('the scheduler on a real fleet: canary, failure limit, cancel', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('sched', 3);
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  const logOf = (hostId: string) => readFileSync(join(fleet.logDir, `${hostId}.log`), 'utf8');

  it('a canary that attaches lets the rollout go on to every host', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 2, rollout: { canary: 1 } });
    expect(job.runs.filter((r) => r.state === 'pending')).toHaveLength(2);
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(done.events.map((e) => e.kind).slice(0, 4)).toEqual(['created', 'stage_released', 'canary_passed', 'stage_released']);
    // The others were put in their queues only once the canary was tracing.
    const canary = done.runs.find((r) => r.stage === 0)!;
    const others = done.runs.filter((r) => r.stage === 1);
    expect(others).toHaveLength(2);
    for (const run of others) expect(Date.parse(run.startDeadline!) - 30_000).toBeGreaterThanOrEqual(Date.parse(canary.startedAt!));
  });

  it('a canary the verifier rejects stops the job: the others end cancelled and no program was ever loaded for them', async () => {
    // What one host's run of it loads (libbpf's feature probes before the rejected program): the
    // canary's share. The other hosts must add nothing to it.
    const alone = nextProgramId();
    const single = await submitJob(fleet.api.client, { program: REJECTED_C, durationSeconds: 5, targets: { hosts: [fleet.hosts[0].hostId] } });
    expect((await waitForJobDone(fleet.api.client, single.id, 60_000)).runs[0].state).toBe('failed');
    const oneHost = nextProgramId() - alone - 1;

    const before = nextProgramId();
    const job = await submitJob(fleet.api.client, { program: REJECTED_C, durationSeconds: 5, rollout: { canary: 1 } });
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    const canary = done.runs.find((r) => r.state === 'failed')!;
    expect(canary.error).toMatch(/^verifier rejected the program: /);
    const others = done.runs.filter((r) => r.id !== canary.id);
    expect(others).toHaveLength(2);
    for (const run of others) {
      expect(run).toMatchObject({ state: 'cancelled', error: `canary failed on ${canary.hostName}: ${canary.error}`, startDeadline: null, startedAt: null });
      // Its host never heard of it.
      expect(logOf(run.hostId)).not.toContain(run.id);
    }
    // The kernel gave out exactly one host's worth of program ids: the canary's, and none for the others.
    expect(nextProgramId() - before - 1).toBe(oneHost);
  });

  it('maxFailures: the runs not dispatched yet are cancelled once failures pass the limit', async () => {
    const broken = { kind: 'bpftrace' as const, script: 'tracepoint:syscalls:sys_enter_no_such_call { @ = count(); }' };
    const job = await submitJob(fleet.api.client, { program: broken, durationSeconds: 5, rollout: { batchSize: 1, batchIntervalSeconds: 30, maxFailures: 0 } });
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    const failed = done.runs.filter((r) => r.state === 'failed');
    expect(failed).toHaveLength(1);
    for (const run of done.runs.filter((r) => r.state !== 'failed')) {
      expect(run).toMatchObject({ state: 'cancelled', error: 'rollout stopped: 1 failed runs exceed maxFailures 0', startedAt: null });
    }
    expect(done.events.map((e) => e.kind)).toContain('rollout_stopped');
  });

  it('cancel of a running 60 s job: every run ends cancelled at once, partial results kept, and no BPF object remains', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 60 });
    await waitForRuns(fleet.api.client, job.id, ['running']);
    const pids = job.runs.map((r) => runnerPid(r.id));
    for (const pid of pids) expect(pid, 'a runner process per run').toBeDefined();
    const held = pids.map((pid) => bpfObjectsOfPid(pid!));
    for (const objects of held) expect(objects.progs.length).toBeGreaterThan(0);
    // Something for host A to have seen before the cancel.
    await runInCgroup(fleet.hosts[0].cgroupPath, '/bin/true', []);
    await waitFor('host A to report its exec', async () => {
      const results: JobResultsView = await getResults(fleet.api.client, job.id);
      const events = results.hosts.find((h) => h.hostId === fleet.hosts[0].hostId)?.outputs.find((o) => o.kind === 'events') as EventsView | undefined;
      return (events?.records.length ?? 0) > 0;
    });

    const { status, body } = await fleet.api.client.request<JobView>('POST', `/v1/jobs/${job.id}/cancel`, {});
    expect(status).toBe(200);
    const done = await waitForJobDone(fleet.api.client, job.id, 20_000);
    const cancelledAt = Date.parse(body.cancelled!.at);
    for (const run of done.runs) {
      expect(run).toMatchObject({ state: 'cancelled', error: 'cancelled by ' + body.cancelled!.by });
      // Detached well before the 60 s duration: the bench (cancel propagation) measures how fast.
      expect(Date.parse(run.finishedAt!) - cancelledAt).toBeLessThan(5_000);
    }
    const results = await getResults(fleet.api.client, job.id);
    const seen = results.hosts.find((h) => h.hostId === fleet.hosts[0].hostId)!.outputs.find((o) => o.kind === 'events') as EventsView;
    expect(seen.records.some((r) => String(r.comm) === 'true')).toBe(true);
    for (const pid of pids) await waitFor('runner gone', async () => !isAlive(pid!));
    for (const objects of held) {
      await waitForFreed(objects, "the runner's BPF objects");
    }
  });
});
