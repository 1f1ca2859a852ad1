import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { hostRedisUser, resultsStreamKey, type AuditPage, type CreatedEnrolmentView, type CreatedTokenView, type HostCredentialsView, type JobView } from '@fleettrace/contracts';
import { ADMIN_TOKEN, hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { withDb } from './support/db';

let t: TestApi;

beforeAll(async () => {
  t = await startApi('trust');
  await registerHosts(t, [hostInfo('web-1'), hostInfo('db-1')]);
});

afterAll(async () => {
  await t?.request('POST', '/v1/hosts/web-1/revoke');
  await t?.close();
});

async function enrolment(hostId: string): Promise<CreatedEnrolmentView> {
  const created = await t.request<CreatedEnrolmentView>('POST', '/v1/hosts/enrolments', { body: { hostId } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const enrol = (body: unknown) => t.request<HostCredentialsView>('POST', '/v1/hosts/enrol', { body, authorization: null });

describe('host enrolment', () => {
  it('spends a token once, for the host it names, and answers that host its own Redis URL', async () => {
    const token = (await enrolment('web-1')).token;
    expect(await enrol({ hostId: 'db-1', token })).toMatchObject({ status: 403, body: { message: 'enrolment token is for host web-1, not db-1' } });
    expect(await enrol({ hostId: 'web-1', token: 'fte_nope' })).toMatchObject({ status: 401, body: { message: 'enrolment token not recognised' } });
    const enrolled = await enrol({ hostId: 'web-1', token });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    const url = new URL(enrolled.body.redisUrl);
    expect(decodeURIComponent(url.username)).toBe(hostRedisUser(t.config.redisPrefix, 'web-1'));
    expect(url.password).toMatch(/^[0-9a-f]{64}$/);
    expect(enrolled.body.redisPrefix).toBe(t.config.redisPrefix);
    expect(await enrol({ hostId: 'web-1', token })).toMatchObject({ status: 401, body: { message: 'enrolment token already used' } });

    const trail = (await t.request<AuditPage>('GET', '/v1/audit?subject=web-1&action=host.')).body.items.map((e) => e.action);
    // Newest first: the reused token, the enrolment, the unknown token (the wrong host's refusal is db-1's), the token's making.
    expect(trail).toEqual(['host.enrol_refused', 'host.enrol', 'host.enrol_refused', 'host.enrolment_create', 'host.register']);
  });

  it.each([
    [{ hostId: 'web-1', expiresInSeconds: 5 }, 'expiresInSeconds must be at least 60'],
    [{ hostId: 'no spaces' }, 'hostId: host id must be 1-128 of [A-Za-z0-9_.-]'],
    [{ hostId: 'web-1', token: 'mine' }, 'unknown field "token"'],
  ])('refuses to make an enrolment of %j: %s', async (body, message) => {
    const response = await t.request<{ message: string }>('POST', '/v1/hosts/enrolments', { body });
    expect(response.status).toBe(400);
    expect(response.body.message).toBe(message);
  });

  it('needs the admin scope to make one, and revoking a host without credentials is a 404', async () => {
    const writer = (await t.request<CreatedTokenView>('POST', '/v1/tokens', { body: { name: 'hosts', scopes: ['hosts:write'] } })).body;
    const refused = await t.request('POST', '/v1/hosts/enrolments', { body: { hostId: 'web-1' }, authorization: `Bearer ${writer.secret}` });
    expect(refused).toMatchObject({ status: 403, body: { message: 'this token lacks the admin scope' } });
    expect(await t.request('POST', '/v1/hosts/db-1/revoke')).toMatchObject({ status: 404, body: { message: 'host db-1 has no credentials to revoke' } });
  });
});

describe('a dispatch a host refused', () => {
  it("fails the run it names only when that run is the refusing host's own, and is audited either way", async () => {
    const job = (await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 5, targets: { hosts: ['web-1'] } } })).body;
    const runId = job.runs[0]!.id;
    const refused = (hostId: string) => ({ type: 'dispatch-refused' as const, hostId, at: Date.now(), queuedAs: runId, runId, reason: "its signature is not the API's" });
    await t.report(refused('db-1'));
    await waitFor('the refusal by db-1 audited', async () => (await t.request<AuditPage>('GET', `/v1/audit?action=dispatch.refuse&actor=host:db-1`)).body.items.length === 1);
    expect((await t.request<JobView>('GET', `/v1/jobs/${job.id}`)).body.runs[0]!.state).toBe('queued');

    await t.report(refused('web-1'));
    const failed = await waitFor('the run to fail', async () => {
      const run = (await t.request<JobView>('GET', `/v1/jobs/${job.id}`)).body.runs[0]!;
      return run.state === 'failed' && run;
    });
    expect(failed.error).toBe("host web-1 refused the dispatch: its signature is not the API's");
    const entry = (await t.request<AuditPage>('GET', `/v1/audit?action=dispatch.refuse&actor=host:web-1`)).body.items[0]!;
    expect(entry).toMatchObject({ subject: runId, detail: { hostId: 'web-1', queuedAs: runId, reason: "its signature is not the API's" } });
  });
});

describe('removing a host', () => {
  it("revokes its Redis user as POST /v1/hosts/:id/revoke does: its open connection is cut and it cannot sign in again", async () => {
    await registerHosts(t, [hostInfo('gone-1')]);
    const enrolled = await enrol({ hostId: 'gone-1', token: (await enrolment('gone-1')).token });
    expect(enrolled.status).toBe(200);
    const host = new Redis(enrolled.body.redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    host.on('error', () => undefined);
    try {
      await host.connect();
      expect(await host.xadd(resultsStreamKey(t.config.redisPrefix, 'gone-1'), '*', 'm', JSON.stringify({ type: 'host', at: Date.now(), host: hostInfo('gone-1') }))).toMatch(/^\d+-\d+$/);
      expect((await t.request('DELETE', '/v1/hosts/gone-1')).status).toBe(204);
      await expect(host.ping()).rejects.toThrow();
      const again = new Redis(enrolled.body.redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
      const refused = new Promise<Error>((resolve) => again.once('error', resolve));
      await again.connect().catch(() => undefined);
      expect((await refused).message).toMatch(/^WRONGPASS/);
      again.disconnect();
    } finally {
      host.disconnect();
    }
    expect((await t.redis.call('ACL', 'USERS')) as string[]).not.toContain(hostRedisUser(t.config.redisPrefix, 'gone-1'));
    const trail = (await t.request<AuditPage>('GET', '/v1/audit?subject=gone-1&action=host.')).body.items.map((e) => e.action);
    expect(trail.slice(0, 2)).toEqual(['host.remove', 'host.revoke']);
    // Nothing left to revoke, nothing left to remove.
    expect(await t.request('DELETE', '/v1/hosts/gone-1')).toMatchObject({ status: 404, body: { message: 'host gone-1 not found' } });
  });
});

describe('throttling failed enrolments', () => {
  let small: TestApi;
  beforeAll(async () => {
    small = await startApi('trust-throttle', { authFailureLimit: 3, authFailureWindowSeconds: 600 });
  });
  afterAll(async () => small?.close());

  it('answers 429 with Retry-After past the limit of failed enrolments from one address, even to a good token, and API tokens share the count', async () => {
    const token = (await small.request<CreatedEnrolmentView>('POST', '/v1/hosts/enrolments', { body: { hostId: 'web-9' } })).body.token;
    const post = (body: unknown) => fetch(`${small.url}/v1/hosts/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (let i = 0; i < 3; i++) expect((await post({ hostId: 'web-9', token: `fte_guess-${i}` })).status).toBe(401);
    const throttled = await post({ hostId: 'web-9', token });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(await throttled.json()).toMatchObject({ statusCode: 429, message: expect.stringMatching(/^too many failed authentications from this address; retry in \d+ s$/) });
    // One throttle: the same address is refused its API token too.
    expect((await fetch(`${small.url}/v1/hosts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(429);
    const refused = await withDb(small.config.databaseUrl, async (db) => (await db.query("SELECT detail FROM audit WHERE action = 'host.enrol_refused' ORDER BY id")).rows.map((r) => r.detail));
    expect(refused).toEqual([
      { reason: 'enrolment token not recognised' },
      { reason: 'enrolment token not recognised' },
      { reason: 'enrolment token not recognised', throttled: true },
    ]);
    // The token was never spent: the throttle answered before it was looked at.
    const enrolments = await withDb(small.config.databaseUrl, async (db) => (await db.query('SELECT used_at FROM host_enrolments')).rows);
    expect(enrolments).toEqual([{ used_at: null }]);
  });
});
