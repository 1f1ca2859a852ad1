import { randomUUID, createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  RUN_JOB_NAME,
  defaultRunLimits,
  dispatchSigningPayload,
  INGEST_CONSUMER_GROUP,
  hostQueueName,
  hostRedisUser,
  programText,
  resultsStreamKey,
  type AuditPage,
  type CreatedEnrolmentView,
  type HostCredentialsView,
  type JobView,
  type RunDispatch,
} from '@fleettrace/contracts';
import { ApiClient, defaultDispatchKeys, startDaemon, stopPid, waitFor, waitForHostsOnline } from '@fleettrace/infra/stack';
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
    // Refusal records of a host are bounded per window (first in full, then a count): a short one
    // here, so a test sees its summary.
    fleet = await startFleet('trust', 2, { apiEnv: { FLEETTRACE_REFUSAL_AUDIT_WINDOW_SECONDS: '5' } });
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

  it("enrols a host once with its token: its own Redis user runs its jobs, is refused other hosts' queues by Redis, and is cut off at once when revoked", async () => {
    const admin = fleet.api.client;
    const hostId = `${fleet.redisPrefix}-enrolled`;
    const created = await admin.request<CreatedEnrolmentView>('POST', '/v1/hosts/enrolments', { hostId });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.token).toMatch(/^fte_[A-Za-z0-9_-]{43}$/);

    const stateDir = mkdtempSync(join(tmpdir(), 'fleettrace-enrolled-'));
    const daemon = startDaemon({
      hostId,
      labels: { tier: 'enrolled' },
      cgroup: `fleettrace-test/${fleet.redisPrefix}/${hostId}`,
      // The shared credential it is started with is not what it uses once enrolled.
      redisUrl: fleet.redisUrl,
      redisPrefix: fleet.redisPrefix,
      logFile: join(fleet.logDir, `${hostId}.log`),
      env: { FLEETTRACE_STATE_DIR: stateDir, FLEETTRACE_API_URL: fleet.api.url, FLEETTRACE_ENROL_TOKEN: created.body.token },
    });
    try {
      await waitForHostsOnline(admin, [hostId]);
      const file = join(stateDir, `daemon-${hostId}`, 'redis-credentials.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const kept = JSON.parse(readFileSync(file, 'utf8')) as HostCredentialsView;
      const user = hostRedisUser(fleet.redisPrefix, hostId);
      expect(decodeURIComponent(new URL(kept.redisUrl).username)).toBe(user);

      const job = await waitForJobDone(admin, (await submitJob(admin, { program: 'execsnoop', durationSeconds: 1, targets: { hosts: [hostId] } })).id);
      expect(job.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([[hostId, 'succeeded', null]]);
      // Its reports came through its own results stream, read by ingest.
      const ownStream = resultsStreamKey(fleet.redisPrefix, hostId);
      const groups = (await redis.call('XINFO', 'GROUPS', ownStream)) as unknown[][];
      const ingestGroup = groups.map((g) => Object.fromEntries(g.flatMap((v, i) => (i % 2 === 0 ? [[String(v), g[i + 1]]] : [])))).find((g) => g.name === INGEST_CONSUMER_GROUP);
      expect(Number(ingestGroup?.['entries-read'])).toBeGreaterThan(0);

      // Spent: the token does not work twice.
      const again = await new ApiClient(fleet.api.url, 'none').request('POST', '/v1/hosts/enrol', { hostId, token: created.body.token });
      expect(again).toEqual({ status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'enrolment token already used' } });

      // With the daemon's own credentials: host-1's queue can be neither read nor added to.
      const own = new Redis(kept.redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => null });
      const otherQueue = `${fleet.redisPrefix}:${hostQueueName(fleet.hosts[0].hostId)}`;
      await expect(own.lrange(`${otherQueue}:wait`, 0, -1)).rejects.toThrow(/NOPERM/);
      const forgedInto = new Queue(hostQueueName(fleet.hosts[0].hostId), { connection: own, prefix: fleet.redisPrefix });
      await expect(forgedInto.add(RUN_JOB_NAME, { forged: true })).rejects.toThrow(/NOPERM/);
      await forgedInto.close();
      // Nor can it report as host-1: Redis refuses it host-1's results stream; its own takes it.
      const asHost1 = JSON.stringify({ type: 'host', at: Date.now(), host: { id: fleet.hosts[0].hostId, name: 'forged', labels: {} } });
      await expect(own.xadd(resultsStreamKey(fleet.redisPrefix, fleet.hosts[0].hostId), '*', 'm', asHost1)).rejects.toThrow(/NOPERM/);
      await expect(own.xrange(resultsStreamKey(fleet.redisPrefix, fleet.hosts[0].hostId), '-', '+')).rejects.toThrow(/NOPERM/);
      expect(await own.xadd(ownStream, '*', 'm', JSON.stringify({ type: 'host', at: Date.now(), host: { id: hostId, name: hostId, labels: { tier: 'enrolled' } } }))).toMatch(/^\d+-\d+$/);

      expect((await admin.request('POST', `/v1/hosts/${hostId}/revoke`)).status).toBe(204);
      // At once: no connection of its user is left, and a new one is refused.
      const clients = String(await redis.call('CLIENT', 'LIST'));
      expect(clients).not.toContain(`user=${user} `);
      await expect(own.ping()).rejects.toThrow();
      own.disconnect();
      const trail = await admin.get<AuditPage>(`/v1/audit?subject=${hostId}&action=host.`);
      expect(trail.items.map((e) => e.action)).toEqual(expect.arrayContaining(['host.revoke', 'host.enrol', 'host.enrolment_create']));
    } finally {
      await stopPid(daemon.pid);
    }
  }, 180_000);

  it("refuses and audits a report about one host's run that came through another host's stream, and the run is unchanged", async () => {
    const [host1, host2] = fleet.hosts.map((h) => h.hostId);
    const admin = fleet.api.client;
    const job = await submitJob(admin, { program: 'execsnoop', durationSeconds: 60, targets: { hosts: [host1] } });
    const runId = job.runs[0]!.id;
    await waitFor('the victim run to be running', async () => (await admin.get<JobView>(`/v1/jobs/${job.id}`)).runs[0]!.state === 'running');
    // The shared credential (the dev path) can write any stream: host-2's carries a lie about host-1's run.
    const lies = [
      { type: 'state', runId, at: Date.now(), state: 'failed', error: 'forged by host-2' },
      { type: 'events', runId, seq: 1_000_000, output: 'execs', timeField: 'time_ns', records: [{ time_ns: Date.now() * 1e6, comm: 'forged' }] },
    ];
    for (const lie of lies) await redis.xadd(resultsStreamKey(fleet.redisPrefix, host2), '*', 'm', JSON.stringify(lie));
    const refusals = async () => (await admin.get<AuditPage>(`/v1/audit?action=ingest.refuse&actor=host:${host2}`)).items;
    // The first in full, the second counted in its window's summary.
    await waitFor('both lies refused in the audit log', async () => (await refusals()).length === 2);
    const [summary, first] = await refusals();
    expect([first!.subject, first!.detail.type, first!.detail.streamHost, first!.detail.reportedHost]).toEqual([runId, 'state', host2, host1]);
    expect([summary!.subject, summary!.detail]).toEqual([host2, expect.objectContaining({ summary: true, reason: 'host-mismatch', streamHost: host2, count: 1, types: { events: 1 } })]);
    const run = (await admin.get<JobView>(`/v1/jobs/${job.id}`)).runs[0]!;
    expect([run.state, run.error]).toEqual(['running', null]);
    // The forged events (seq 1,000,000, comm "forged") were not stored beside the run's own.
    const events = await admin.request(`GET`, `/v1/jobs/${job.id}/events?output=execs&limit=5000`);
    expect(events.status).toBe(200);
    expect(JSON.stringify(events.body)).not.toContain('"forged"');
    await admin.request('POST', `/v1/jobs/${job.id}/cancel`, { reason: 'test over' });
    expect((await waitForJobDone(admin, job.id)).runs.map((r) => r.state)).toEqual(['cancelled']);
  }, 120_000);
});
