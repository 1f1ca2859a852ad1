import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName, RunDispatch } from '@fleettrace/contracts';
import type { AuditEntryView, AuditPage, CreatedTokenView, HostDetailView, HostView, JobPage, JobView, RunPage, ScheduleDetailView, TokenView } from '@fleettrace/contracts';
import { ADMIN_TOKEN, hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { withDb } from './support/db';

let t: TestApi;

beforeAll(async () => {
  t = await startApi('tokens');
  await registerHosts(t, [hostInfo('web-1', { tier: 'web' }), hostInfo('db-1', { tier: 'db' })]);
});

afterAll(async () => {
  await t?.close();
});

const catalogJob = { program: 'execsnoop', durationSeconds: 5 };
const bpftraceJob = { program: { kind: 'bpftrace', script: 'BEGIN { printf("hi\\n"); exit(); }' }, durationSeconds: 5 };
const cJob = { program: { kind: 'c', source: 'int x;', outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] }, durationSeconds: 5 };

async function createToken(body: Record<string, unknown>): Promise<CreatedTokenView> {
  const response = await t.request<CreatedTokenView>('POST', '/v1/tokens', { body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const as = (token: { secret: string }) => ({ authorization: `Bearer ${token.secret}` });

async function audit(query: string): Promise<AuditEntryView[]> {
  const response = await t.request<AuditPage>('GET', `/v1/audit?${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.items;
}

describe('POST /v1/tokens', () => {
  it('shows a secret of 32 random bytes once, and stores only its keyed hash', async () => {
    const token = await createToken({ name: 'ci', scopes: ['jobs:read', 'jobs:catalog'] });
    expect(token).toMatchObject({ name: 'ci', scopes: ['jobs:catalog', 'jobs:read'], hostSelector: null, createdBy: 'admin', expiresAt: null, revokedAt: null });
    expect(token.secret).toMatch(/^ft_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.secret.slice(3), 'base64url')).toHaveLength(32);
    const listed = (await t.request<TokenView[]>('GET', '/v1/tokens')).body.find((x) => x.id === token.id)!;
    expect(listed).not.toHaveProperty('secret');
    expect(JSON.stringify(listed)).not.toContain(token.secret.slice(3));
    const stored = await withDb(t.config.databaseUrl, async (db) => (await db.query('SELECT * FROM api_tokens WHERE id = $1', [token.id])).rows[0]);
    expect(JSON.stringify(stored)).not.toContain(token.secret.slice(3));
    // Keyed: not the plain sha256 a dictionary of leaked secrets would be checked against.
    expect(stored.secret_hmac).not.toBe(createHash('sha256').update(token.secret).digest('hex'));
  });

  it.each([
    [{ scopes: ['jobs:read'] }, 'name is required'],
    [{ name: 'x', scopes: [] }, 'scopes must be a non-empty list of jobs:read, jobs:catalog, jobs:bpftrace, jobs:c, jobs:c:network, jobs:c:hooks, jobs:cancel, schedules:write, hosts:write, admin'],
    [{ name: 'x', scopes: ['jobs:read', 'jobs:write'] }, 'scopes: unknown scope "jobs:write" (known: jobs:read, jobs:catalog, jobs:bpftrace, jobs:c, jobs:c:network, jobs:c:hooks, jobs:cancel, schedules:write, hosts:write, admin)'],
    [{ name: 'x', scopes: ['jobs:read'], hostSelector: 'tier in web' }, 'hostSelector: expected "(" after "in", found "web" at position 8'],
    [{ name: 'x', scopes: ['jobs:read'], expiresAt: 'tomorrow' }, 'expiresAt must be a time like 2026-12-31T00:00:00Z'],
    [{ name: 'x', scopes: ['jobs:read'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt must be in the future'],
    [{ name: 'x', scopes: ['admin'], hostSelector: 'tier=web' }, 'hostSelector cannot limit a token with the admin scope'],
    [{ name: 'x', scopes: ['jobs:read'], secret: 'mine' }, 'unknown field "secret"'],
  ])('refuses %j: %s', async (body, message) => {
    const response = await t.request('POST', '/v1/tokens', { body });
    expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });
});

describe('scopes', () => {
  it('answers 403 naming the missing scope on every kind of route, and audits each refusal', async () => {
    const reader = await createToken({ name: 'reader', scopes: ['jobs:read'] });
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: catalogJob });
    const schedule = { name: 's', everySeconds: 3600, job: catalogJob };
    for (const [method, path, body, scope] of [
      ['POST', '/v1/jobs', catalogJob, 'jobs:catalog'],
      ['POST', '/v1/jobs?dryRun=true', bpftraceJob, 'jobs:bpftrace'],
      ['POST', `/v1/jobs/${job.id}/cancel`, {}, 'jobs:cancel'],
      ['POST', '/v1/schedules', schedule, 'schedules:write'],
      ['PATCH', `/v1/schedules/${job.id}`, { enabled: false }, 'schedules:write'],
      ['DELETE', `/v1/schedules/${job.id}`, undefined, 'schedules:write'],
      ['POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }, 'admin'],
      ['GET', '/v1/tokens', undefined, 'admin'],
      ['DELETE', `/v1/tokens/${job.id}`, undefined, 'admin'],
      ['GET', '/v1/audit', undefined, 'admin'],
    ] as const) {
      const response = await t.request(method, path, { ...as(reader), body });
      expect(response.body, `${method} ${path}`).toEqual({ statusCode: 403, error: 'Forbidden', message: `this token lacks the ${scope} scope` });
    }
    for (const path of ['/v1/hosts', '/v1/programs', `/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/results`, '/v1/jobs', '/v1/schedules']) {
      expect((await t.request('GET', path, as(reader))).status, path).toBe(200);
    }
    const refused = await audit(`actor=${reader.id}&action=auth.forbidden&limit=20`);
    expect(refused.map((e) => [e.subject, e.detail.missingScope])).toContainEqual(['POST /v1/jobs', 'jobs:catalog']);
    expect(refused.map((e) => e.subject)).toContainEqual('DELETE /v1/tokens/:id');
    expect(refused).toHaveLength(10);
    expect(refused.every((e) => e.address === '127.0.0.1')).toBe(true);
  });

  it('lets a catalog-only token start catalog jobs only, and audits both with its id', async () => {
    const ci = await createToken({ name: 'catalog-only', scopes: ['jobs:catalog'] });
    const refused = await t.request('POST', '/v1/jobs', { ...as(ci), body: bpftraceJob });
    expect(refused.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'this token lacks the jobs:bpftrace scope' });
    expect((await t.request('POST', '/v1/jobs', { ...as(ci), body: cJob })).body).toMatchObject({ statusCode: 403, message: 'this token lacks the jobs:c scope' });
    const accepted = await t.request<JobView>('POST', '/v1/jobs', { ...as(ci), body: catalogJob });
    expect(accepted.status).toBe(201);
    expect(accepted.body.createdBy).toBe(ci.id);
    // No jobs:read: it may not even read back what it made.
    expect((await t.request('GET', `/v1/jobs/${accepted.body.id}`, as(ci))).body).toMatchObject({ statusCode: 403, message: 'this token lacks the jobs:read scope' });
    const entries = await audit(`actor=${ci.id}`);
    expect(entries.map((e) => e.action)).toEqual(['auth.forbidden', 'job.create', 'auth.forbidden', 'auth.forbidden']);
    expect(entries[1]).toMatchObject({ subject: accepted.body.id, address: '127.0.0.1', programSha256: null, detail: { program: 'execsnoop', params: {} } });
    expect(entries[3]).toMatchObject({ subject: 'POST /v1/jobs', detail: { missingScope: 'jobs:bpftrace' } });
  });

  it("sends a C job's runs the program policy its token's scopes resolve to; other kinds carry none", async () => {
    const q = new Queue(hostQueueName('web-1'), { connection: { url: t.config.redisUrl }, prefix: t.config.redisPrefix });
    try {
      const dispatched = async (token: { secret: string } | undefined, body: Record<string, unknown>): Promise<RunDispatch> => {
        const response = await t.request<JobView>('POST', '/v1/jobs', { ...(token ? as(token) : {}), body: { ...body, targets: { hosts: ['web-1'] } } });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        return RunDispatch.parse((await q.getJob(response.body.runs[0]!.id))?.data);
      };
      const tracing = ['kprobe', 'uprobe', 'tracepoint', 'raw_tp', 'tp_btf', 'fentry', 'perf_event'];
      const denied = ['bpf_probe_write_user', 'bpf_override_return', 'bpf_send_signal', 'bpf_send_signal_thread', 'bpf_sys_bpf', 'bpf_set_retval'];
      const c = await createToken({ name: 'c-only', scopes: ['jobs:c'] });
      expect((await dispatched(c, cJob)).policy).toEqual({ programKinds: tracing, deniedHelpers: denied });
      const net = await createToken({ name: 'c-net', scopes: ['jobs:c', 'jobs:c:network'] });
      expect((await dispatched(net, cJob)).policy).toEqual({ programKinds: [...tracing, 'xdp', 'tc'], deniedHelpers: denied });
      // admin holds every scope, yet no scope lifts a denied helper.
      expect((await dispatched(undefined, cJob)).policy).toEqual({ programKinds: [...tracing, 'xdp', 'tc', 'lsm', 'struct_ops', 'fmod_ret'], deniedHelpers: denied });
      expect((await dispatched(undefined, catalogJob)).policy).toBeUndefined();
    } finally {
      await q.close();
    }
  });

  it('records a bpftrace job with its script and sha256, a C job with its source hash only', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { ...bpftraceJob, targets: { hosts: ['web-1'] } } });
    const [entry] = await audit(`subject=${job.id}`);
    const sha = createHash('sha256').update(bpftraceJob.program.script).digest('hex');
    expect(entry).toMatchObject({ actor: 'admin', action: 'job.create', programSha256: sha, detail: { program: 'bpftrace', script: bpftraceJob.program.script, scriptSha256: sha, hostIds: ['web-1'] } });
  });
});

describe('a token limited to a host selector', () => {
  it('sees and targets only its hosts, and reads only jobs all of whose hosts it sees', async () => {
    const web = await createToken({ name: 'web-team', scopes: ['jobs:read', 'jobs:catalog', 'jobs:cancel'], hostSelector: 'tier=web' });
    expect((await t.request<HostView[]>('GET', '/v1/hosts', as(web))).body.map((h) => h.id)).toEqual(['web-1']);
    expect((await t.request('GET', '/v1/hosts/db-1', as(web))).body).toEqual({ statusCode: 404, error: 'Not Found', message: 'host db-1 not found' });
    const mine = await t.request<JobView>('POST', '/v1/jobs', { ...as(web), body: { ...catalogJob, targets: {} } });
    expect(mine.body.runs.map((r) => r.hostId)).toEqual(['web-1']);
    const outside = await t.request('POST', '/v1/jobs', { ...as(web), body: { ...catalogJob, targets: { hosts: ['db-1'] } } });
    expect(outside.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'targets.hosts: unknown host db-1' });
    expect((await t.request('POST', '/v1/jobs', { ...as(web), body: { ...catalogJob, targets: { selector: 'tier=db' } } })).body).toMatchObject({ message: 'targets match no online host' });

    const both = (await t.request<JobView>('POST', '/v1/jobs', { body: catalogJob })).body;
    expect(both.runs).toHaveLength(2);
    for (const path of [`/v1/jobs/${both.id}`, `/v1/jobs/${both.id}/runs`, `/v1/jobs/${both.id}/results`, `/v1/jobs/${both.id}/events`, `/v1/jobs/${mine.body.id}/compare/${both.id}`]) {
      expect((await t.request('GET', path, as(web))).body, path).toEqual({ statusCode: 404, error: 'Not Found', message: `job ${both.id} not found` });
    }
    expect((await t.request('POST', `/v1/jobs/${both.id}/cancel`, { ...as(web), body: {} })).status).toBe(404);
    expect((await t.request('GET', `/v1/jobs/${mine.body.id}`, as(web))).status).toBe(200);
    expect((await t.request<RunPage>('GET', `/v1/jobs/${mine.body.id}/runs`, as(web))).body.items.map((r) => r.hostId)).toEqual(['web-1']);
    const listed = (await t.request<JobPage>('GET', '/v1/jobs?limit=200', as(web))).body.items.map((j) => j.id);
    expect(listed).toContain(mine.body.id);
    expect(listed).not.toContain(both.id);
    expect((await t.request<JobPage>('GET', '/v1/jobs?limit=200')).body.items.map((j) => j.id)).toContain(both.id);

    // A host's recent runs follow the same rule: the job that also ran on db-1 is not shown to the web team.
    const webRuns = (await t.request<HostDetailView>('GET', '/v1/hosts/web-1', as(web))).body.recentRuns.map((r) => r.jobId);
    expect(webRuns).toContain(mine.body.id);
    expect(webRuns).not.toContain(both.id);
    expect((await t.request<HostDetailView>('GET', '/v1/hosts/web-1')).body.recentRuns.map((r) => r.jobId)).toContain(both.id);
  });
});

describe('revocation and expiry', () => {
  it('answers 401 to a revoked token at its next request; revoking again is harmless and audited as such', async () => {
    const token = await createToken({ name: 'short-lived', scopes: ['jobs:read'] });
    expect((await t.request('GET', '/v1/hosts', as(token))).status).toBe(200);
    expect((await t.request('DELETE', `/v1/tokens/${token.id}`)).status).toBe(204);
    expect((await t.request('GET', '/v1/hosts', as(token))).body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'bearer token revoked' });
    expect((await t.request('DELETE', `/v1/tokens/${token.id}`)).status).toBe(204);
    expect((await t.request<TokenView[]>('GET', '/v1/tokens')).body.find((x) => x.id === token.id)).toMatchObject({ revokedAt: expect.any(String), lastUsedAt: expect.any(String) });
    expect((await audit(`subject=${token.id}`)).map((e) => [e.action, e.detail.alreadyRevoked ?? false])).toEqual([
      ['token.revoke', true],
      ['token.revoke', false],
      ['token.create', false],
    ]);
    const refused = await audit(`actor=${token.id}&action=auth.refused`);
    expect(refused).toEqual([expect.objectContaining({ subject: 'GET /v1/hosts', address: '127.0.0.1', detail: { reason: 'bearer token revoked' } })]);
  });

  it('refuses to revoke the bootstrap token or one that does not exist', async () => {
    expect((await t.request('DELETE', '/v1/tokens/admin')).body).toMatchObject({ statusCode: 400, message: 'the bootstrap admin token is replaced by changing FLEETTRACE_ADMIN_TOKEN, not revoked' });
    const id = '5d0c8a2e-1f3b-4c6d-8e9f-0a1b2c3d4e5f';
    expect((await t.request('DELETE', `/v1/tokens/${id}`)).body).toEqual({ statusCode: 404, error: 'Not Found', message: `token ${id} not found` });
    expect((await t.request('DELETE', '/v1/tokens/nope')).body).toMatchObject({ statusCode: 400, message: 'token id must be a UUID or "admin"' });
  });

  it('answers 401 once a token has expired', async () => {
    const token = await createToken({ name: 'expiring', scopes: ['jobs:read'], expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await t.request('GET', '/v1/hosts', as(token))).status).toBe(200);
    const expired = await waitFor('the token to expire', async () => {
      const response = await t.request('GET', '/v1/hosts', as(token));
      return response.status === 401 && response.body;
    });
    expect(expired).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'bearer token expired' });
  });

  it("stops a revoked owner's schedule from starting jobs: each firing is skipped, saying why", async () => {
    const owner = await createToken({ name: 'scheduler', scopes: ['jobs:read', 'jobs:catalog', 'schedules:write'] });
    const created = await t.request<ScheduleDetailView>('POST', '/v1/schedules', { ...as(owner), body: { name: 'every second', everySeconds: 1, job: { ...catalogJob, durationSeconds: 1, targets: { hosts: ['web-1'] } }, overlap: 'allow' } });
    expect(created.body.createdBy).toBe(owner.id);
    await waitFor('a started firing', async () => (await t.request<ScheduleDetailView>('GET', `/v1/schedules/${created.body.id}`)).body.firings.some((f) => f.outcome === 'started'));
    await t.request('DELETE', `/v1/tokens/${owner.id}`);
    const skipped = await waitFor('a skipped firing', async () =>
      (await t.request<ScheduleDetailView>('GET', `/v1/schedules/${created.body.id}`)).body.firings.find((f) => f.outcome === 'skipped'),
    );
    expect(skipped.reason).toBe(`owner token ${owner.id} was revoked`);
    await t.request('DELETE', `/v1/schedules/${created.body.id}`);
  });
});

describe('GET /v1/audit', () => {
  it('pages newest first by keyset, with filters by action family, actor and time', async () => {
    for (let i = 0; i < 3; i++) await t.request('POST', '/v1/jobs', { body: catalogJob });
    const all = await audit('action=job.create&limit=500');
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditPage = (await t.request<AuditPage>('GET', `/v1/audit?action=job.&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...new Set(seen)]);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => b - a));
    expect(seen).toEqual(expect.arrayContaining(all.map((e) => e.id)));
    expect((await audit(`actor=admin&action=job.create&since=${new Date(Date.now() + 60_000).toISOString()}`))).toEqual([]);
  });

  it.each([
    ['cursor=zzz', 'cursor must be a nextCursor from a previous page'],
    ['limit=0', 'limit must be a whole number from 1 to 500'],
    ['action=Job', 'action must be an action like "job.create", or a family like "schedule."'],
    ['since=yesterday', 'since must be a time like 2026-12-04T10:00:00Z'],
    ['who=me', 'unknown query parameter "who"'],
  ])('refuses %s', async (query, message) => {
    expect((await t.request('GET', `/v1/audit?${query}`)).body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it('records refused authentications with the address and never the presented secret', async () => {
    await t.request('GET', '/v1/hosts', { authorization: 'Bearer ft_not-a-real-secret-123' });
    const [entry] = await audit('action=auth.refused&limit=1');
    expect(entry).toMatchObject({ actor: null, subject: 'GET /v1/hosts', address: '127.0.0.1', detail: { reason: 'invalid bearer token' } });
    const rows = await withDb(t.config.databaseUrl, async (db) => (await db.query("SELECT count(*)::int AS n FROM audit WHERE detail::text LIKE '%not-a-real-secret%' OR subject LIKE '%not-a-real%'")).rows[0].n);
    expect(rows).toBe(0);
  });

  it("records a host's registration and each change of its labels, not its heartbeats", async () => {
    await registerHosts(t, [hostInfo('relabel-1', { team: 'a' })]);
    await registerHosts(t, [hostInfo('relabel-1', { team: 'a' })]);
    await registerHosts(t, [hostInfo('relabel-1', { team: 'b' })]);
    await waitFor('the relabel', async () => (await audit('subject=relabel-1')).length >= 2);
    const entries = await audit('subject=relabel-1');
    expect(entries.map((e) => [e.action, e.actor, e.detail.labels])).toEqual([
      ['host.update', null, { team: 'b' }],
      ['host.register', null, { team: 'a' }],
    ]);
    expect(entries[0].detail.previous).toEqual({ name: 'relabel-1', labels: { team: 'a' } });
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE fail for the API’s database role', async () => {
    await withDb(t.config.databaseUrl, async (db) => {
      const before = (await db.query('SELECT count(*)::int AS n FROM audit')).rows[0].n as number;
      expect(before).toBeGreaterThan(0);
      await expect(db.query("UPDATE audit SET actor = 'someone-else'")).rejects.toThrow('audit is append-only: UPDATE refused');
      await expect(db.query('DELETE FROM audit')).rejects.toThrow('audit is append-only: DELETE refused');
      await expect(db.query('TRUNCATE audit')).rejects.toThrow('audit is append-only: TRUNCATE refused');
      expect((await db.query('SELECT count(*)::int AS n FROM audit')).rows[0].n).toBe(before);
      expect((await db.query("SELECT count(*)::int AS n FROM audit WHERE actor = 'someone-else'")).rows[0].n).toBe(0);
    });
  });
});

describe('throttling failed authentication', () => {
  let small: TestApi;
  beforeAll(async () => {
    small = await startApi('tokens-throttle', { authFailureLimit: 3, authFailureWindowSeconds: 600 });
  });
  afterAll(async () => small?.close());

  it('answers 429 with Retry-After past the limit, even to the right token, and records when it began', async () => {
    const get = (token: string) => fetch(`${small.url}/v1/hosts`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get(ADMIN_TOKEN)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(`guess-${i}`)).status).toBe(401);
    const throttled = await get(ADMIN_TOKEN);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(await throttled.json()).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.stringMatching(/^too many failed authentications from this address; retry in \d+ s$/) });
    const refused = await withDb(small.config.databaseUrl, async (db) => (await db.query("SELECT detail FROM audit WHERE action = 'auth.refused' ORDER BY id")).rows.map((r) => r.detail));
    expect(refused).toEqual([{ reason: 'invalid bearer token' }, { reason: 'invalid bearer token' }, { reason: 'invalid bearer token', throttled: true }]);
  });
});
