import { randomUUID, createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RUN_JOB_NAME, defaultRunLimits, dispatchSigningPayload, hostQueueName, programText, type AuditPage, type RunDispatch } from '@fleettrace/contracts';
import { defaultDispatchKeys, waitFor } from '@fleettrace/infra/stack';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone } from '../support/jobs';

/** What the API's signDispatch does: anyone holding `key` can make a dispatch a host accepts. */
function signed(key: KeyObject, dispatch: Omit<RunDispatch, 'programSha256' | 'signature'>): RunDispatch {
  const withHash = { ...dispatch, programSha256: createHash('sha256').update(programText(dispatch.program)).digest('hex') };
  return { ...withHash, signature: sign(null, dispatchSigningPayload(withHash), key).toString('base64') };
}

function loadedPrograms(): number {
  return (JSON.parse(execFileSync('bpftool', ['prog', 'list', '-j']).toString()) as unknown[]).length;
}

describe('a host runs only the dispatches the API signed for it', () => {
  let fleet: Fleet;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    fleet = await startFleet('trust', 2);
    redis = new Redis(fleet.redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(hostQueueName(fleet.hosts[0].hostId), { connection: redis, prefix: fleet.redisPrefix });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await fleet?.stop();
  });

  it('refuses an unsigned, a forged and a re-targeted dispatch in its queue, loads nothing, and each refusal is in the audit log', async () => {
    const [host1, host2] = fleet.hosts.map((h) => h.hostId);
    const apiKey = createPrivateKey(readFileSync(defaultDispatchKeys().privateKeyFile));
    // A program that loads and attaches at once if it is ever run.
    const base = (hostId: string) => ({
      runId: randomUUID(),
      jobId: randomUUID(),
      hostId,
      program: { kind: 'bpftrace' as const, script: 'tracepoint:syscalls:sys_enter_getppid { @calls = count(); }' },
      params: {},
      durationSeconds: 30,
      startDeadline: Date.now() + 60_000,
      endDeadline: Date.now() + 120_000,
      limits: defaultRunLimits(),
    });
    const unsigned: Partial<RunDispatch> & { runId: string } = signed(apiKey, base(host1));
    delete unsigned.signature;
    const forged = signed(generateKeyPairSync('ed25519').privateKey, base(host1));
    const retargeted = signed(apiKey, base(host2));
    const cases = [
      { dispatch: unsigned, reason: 'it is not signed' },
      { dispatch: forged, reason: "its signature is not the API's" },
      { dispatch: retargeted, reason: `it is for host ${host2}, not ${host1}` },
    ];

    const before = loadedPrograms();
    for (const { dispatch } of cases) await queue.add(RUN_JOB_NAME, dispatch, { jobId: dispatch.runId });

    for (const { dispatch, reason } of cases) {
      await waitFor(`job ${dispatch.runId} to fail`, async () => (await (await queue.getJob(dispatch.runId))?.isFailed()) === true);
      expect((await queue.getJob(dispatch.runId))!.failedReason).toBe(`dispatch refused: ${reason}`);
    }
    const refusals = async () => (await fleet.api.client.get<AuditPage>(`/v1/audit?action=dispatch.refuse&actor=host:${host1}`)).items;
    await waitFor('three refusals in the audit log', async () => (await refusals()).length === 3);
    expect((await refusals()).map((e) => [e.subject, e.detail.reason]).sort()).toEqual(cases.map((c) => [c.dispatch.runId, c.reason]).sort());
    expect(loadedPrograms()).toBe(before);
    expect(fleet.logs()).toContain(`refused job ${forged.runId}: its signature is not the API's`);

    // What the API itself queues is signed and runs.
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 1, targets: { hosts: [host1] } });
    expect((await waitForJobDone(fleet.api.client, job.id)).runs.map((r) => [r.state, r.error])).toEqual([['succeeded', null]]);
  }, 120_000);
});
