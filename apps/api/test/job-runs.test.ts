import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { JOB_VIEW_RUNS, RUN_STATES, type ErrorBody, type HostView, type JobStreamMessage, type JobView, type RunPage, type RunView } from '@fleettrace/contracts';
import { ADMIN_TOKEN, hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// More hosts than a job view carries runs, and than two pages of an odd size: paging is really exercised.
const HOSTS = 250;
/** Hosts that have bpftrace: a bpftrace job is unsupported on every other one, so a job has runs in two states. */
const WITH_BPFTRACE = 40;

let t: TestApi;
let db: pg.Client;
const hostIds = Array.from({ length: HOSTS }, (_, i) => `host${String(i).padStart(3, '0')}`);

const hosts = hostIds.map((id, i) => ({ ...hostInfo(id), name: `name-of-${id}`, tools: { clang: true, bpftrace: i < WITH_BPFTRACE } }));

beforeAll(async () => {
  t = await startApi('job-runs');
  db = new pg.Client({ connectionString: t.config.databaseUrl });
  await db.connect();
  await registerHosts(t, hosts);
});

/** A heartbeat of every host, waited for: on a loaded machine this file outlasts a heartbeat's online window. */
async function everyHostOnline(): Promise<void> {
  const at = Date.now();
  for (const host of hosts) await t.report({ type: 'host', at, host });
  await waitFor('every host online', async () => (await t.request<HostView[]>('GET', '/v1/hosts')).body.filter((h) => h.online && Date.parse(h.lastHeartbeatAt) >= at).length === HOSTS);
}

afterAll(async () => {
  await db?.end();
  await t?.close();
});

async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await t.request<T>(method, path, body === undefined ? {} : { body });
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(method === 'POST' && path === '/v1/jobs' ? 201 : 200);
  return response.body;
}

async function catalogJob(): Promise<JobView> {
  await everyHostOnline();
  return ok<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 60, targets: {} });
}

async function runIdsInDatabase(jobId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM runs WHERE job_id = $1', [jobId]);
  return rows.map((r) => r.id);
}

/** Every page of the job's runs from `cursor` on, with `query` (limit, filters) on each request. */
async function pagesFrom(jobId: string, query: string, cursor: string | null, between: (pageIndex: number) => Promise<void> = async () => {}): Promise<RunView[][]> {
  const pages: RunView[][] = [];
  while (cursor !== null) {
    const page: RunPage = await ok<RunPage>('GET', `/v1/jobs/${jobId}/runs?${query}&cursor=${encodeURIComponent(cursor)}`);
    pages.push(page.items);
    cursor = page.nextCursor;
    await between(pages.length);
  }
  return pages;
}

describe('GET /v1/jobs/:id of a job on more hosts than one page', () => {
  it('carries the summary of every run and the first page of runs, with where the rest are', async () => {
    const job = await catalogJob();
    const view = await ok<JobView>('GET', `/v1/jobs/${job.id}`);
    expect(view.runs).toHaveLength(JOB_VIEW_RUNS);
    expect(view.runs.map((r) => r.hostId)).toEqual(hostIds.slice(0, JOB_VIEW_RUNS));
    expect(view.runsPage.total).toBe(HOSTS);
    expect(view.runsPage.nextCursor).toEqual(expect.any(String));
    expect(view.summary.hosts).toBe(HOSTS);
    expect(view.runStates).toEqual({ queued: HOSTS });
    // The answer to POST is the same view.
    expect(job.runs).toHaveLength(JOB_VIEW_RUNS);
    expect(job.runsPage.total).toBe(HOSTS);
  });

  it('of a small job carries every run and no cursor', async () => {
    const small = await ok<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 60, targets: { hosts: hostIds.slice(0, 3) } });
    const view = await ok<JobView>('GET', `/v1/jobs/${small.id}`);
    expect(view.runs.map((r) => r.hostId)).toEqual(hostIds.slice(0, 3));
    expect(view.runsPage).toEqual({ total: 3, nextCursor: null });
  });
});

describe('GET /v1/jobs/:id read in one statement', () => {
  it('agrees with the database and with GET /runs: counts, failure summary, first page, timeline, times to the millisecond', async () => {
    // A bpftrace job: queued on the hosts with bpftrace, unsupported (a failure cause naming each host) on the others.
    await everyHostOnline();
    const job = await ok<JobView>('POST', '/v1/jobs', { program: { kind: 'bpftrace', script: 'BEGIN { exit(); }' }, durationSeconds: 60, targets: {} });
    const failing = job.runs.find((r) => r.state === 'queued')!;
    await t.report({ type: 'state', runId: failing.id, at: Date.now(), state: 'failed', error: `host ${failing.hostId} ran out of memory` });
    await waitFor('the failure taken in', async () => (await db.query("SELECT 1 FROM runs WHERE id = $1 AND state = 'failed'", [failing.id])).rowCount === 1, 10_000);
    // The cancel ends the queued runs: the job completes, its finished_at set by PostgreSQL's now() (microseconds).
    await ok('POST', `/v1/jobs/${job.id}/cancel`, { reason: 'one-statement test' });

    const view = await ok<JobView>('GET', `/v1/jobs/${job.id}`);
    const page = await ok<RunPage>('GET', `/v1/jobs/${job.id}/runs?limit=${JOB_VIEW_RUNS}`);
    expect(view.runs).toEqual(page.items);
    expect(view.runsPage).toEqual({ total: HOSTS, nextCursor: page.nextCursor });

    const counts = await db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM runs WHERE job_id = $1 GROUP BY state', [job.id]);
    const byState = Object.fromEntries(counts.rows.map((r) => [r.state, r.n]));
    expect(byState).toEqual({ unsupported: HOSTS - WITH_BPFTRACE, failed: 1, cancelled: WITH_BPFTRACE - 1 });
    expect(view.runStates).toEqual(byState);
    expect(view.summary.byState).toEqual(byState);
    expect(view.summary.hosts).toBe(HOSTS);
    expect(view.summary.causes.map((c) => [c.state, c.count, c.hosts])).toEqual([
      ['unsupported', HOSTS - WITH_BPFTRACE, hostIds.slice(WITH_BPFTRACE)],
      ['cancelled', WITH_BPFTRACE - 1, hostIds.slice(0, WITH_BPFTRACE).filter((id) => id !== failing.hostId)],
      ['failed', 1, [failing.hostId]],
    ]);
    expect(view.summary.causes[2]!.cause).toBe('host <host> ran out of memory');

    const events = await db.query<{ at: Date; kind: string; message: string; detail: Record<string, unknown> }>('SELECT at, kind, message, detail FROM job_events WHERE job_id = $1 ORDER BY id', [job.id]);
    expect(view.events).toEqual(events.rows.map((e) => ({ ...e, at: e.at.toISOString() })));
    expect(view.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['created', 'cancel_requested', 'completed']));

    const [stored] = (await db.query<{ created_at: Date; finished_at: Date; cancelled_at: Date }>('SELECT created_at, finished_at, cancelled_at FROM jobs WHERE id = $1', [job.id])).rows;
    expect(view.state).toBe('completed');
    expect([view.createdAt, view.finishedAt, view.cancelled?.at]).toEqual([stored!.created_at, stored!.finished_at, stored!.cancelled_at].map((d) => d.toISOString()));
  });

  it('tags each view: If-None-Match with the tag answers 304 and no body until the job changes', async () => {
    const job = await ok<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 60, targets: { hosts: hostIds.slice(0, 3) } });
    const first = await t.request<JobView>('GET', `/v1/jobs/${job.id}`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{32}"$/);
    const unchanged = await t.request('GET', `/v1/jobs/${job.id}`, { headers: { 'if-none-match': etag } });
    expect({ status: unchanged.status, body: unchanged.body, etag: unchanged.headers.get('etag') }).toEqual({ status: 304, body: '', etag });
    expect((await t.request('GET', `/v1/jobs/${job.id}`, { headers: { 'if-none-match': '"another"' } })).status).toBe(200);

    await t.report({ type: 'state', runId: job.runs[0]!.id, at: Date.now(), state: 'running' });
    const changed = await waitFor(
      'the view to change',
      async () => {
        const answer = await t.request<JobView>('GET', `/v1/jobs/${job.id}`, { headers: { 'if-none-match': etag } });
        return answer.status === 200 ? answer : undefined;
      },
      10_000,
    );
    expect(changed.body.runs[0]!.state).toBe('running');
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await t.request('GET', `/v1/jobs/${job.id}`, { headers: { 'if-none-match': changed.headers.get('etag')! } })).status).toBe(304);
  });
});

/** The first message of the job's live stream (the opening picture), then the stream is closed. */
async function openingPicture(jobId: string): Promise<JobStreamMessage> {
  const closed = new AbortController();
  const response = await fetch(`${t.url}/v1/jobs/${jobId}/stream?events=false`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: closed.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  let text = '';
  try {
    while (!text.includes('\n\n')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    closed.abort();
  }
  const fields = Object.fromEntries(text.split('\n\n')[0]!.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
  return { event: fields.event, data: JSON.parse(fields.data!) } as JobStreamMessage;
}

describe('GET /v1/jobs/:id/stream of a job on more hosts than one page', () => {
  it('opens with the counts, the summary and the first page of runs; paging from its cursor gives every other run once', async () => {
    const job = await catalogJob();
    const picture = await openingPicture(job.id);
    if (picture.event !== 'job') throw new Error(`the stream opened with ${picture.event}`);
    expect(picture.data.runs).toHaveLength(JOB_VIEW_RUNS);
    expect(picture.data.runs[0]).toEqual({ runId: expect.any(String), hostId: hostIds[0], state: 'queued' });
    expect(picture.data.runStates).toEqual({ queued: HOSTS });
    expect(picture.data.summary).toEqual({ hosts: HOSTS, byState: { queued: HOSTS }, causes: [] });
    expect(picture.data.runsPage).toEqual({ total: HOSTS, nextCursor: expect.any(String) });
    const rest = (await pagesFrom(job.id, 'limit=1000', picture.data.runsPage.nextCursor)).flat();
    expect([...picture.data.runs.map((r) => r.runId), ...rest.map((r) => r.id)].sort()).toEqual((await runIdsInDatabase(job.id)).sort());
  });
});

describe('GET /v1/jobs/:id/runs', () => {
  it('pages through every run exactly once, in order, while the runs change state', async () => {
    const job = await catalogJob();
    const all = await runIdsInDatabase(job.id);
    expect(all).toHaveLength(HOSTS);
    const first = await ok<JobView>('GET', `/v1/jobs/${job.id}`);
    expect(first.runs.every((r) => r.state === 'queued')).toBe(true);

    const pages = await pagesFrom(job.id, 'limit=37', first.runsPage.nextCursor, async (pageIndex) => {
      // After the first page: every host reports its run running, taken in by ingest whenever it comes.
      if (pageIndex === 1) for (const run of first.runs) await t.report({ type: 'state', runId: run.id, at: Date.now(), state: 'running' });
      // After the third: the cancel ends every run still queued, committed before the next page is read.
      if (pageIndex === 3) await ok('POST', `/v1/jobs/${job.id}/cancel`, { reason: 'paging test' });
    });
    const paged = [first.runs, ...pages].flat();
    expect(paged.map((r) => r.id).sort()).toEqual([...all].sort());
    expect(new Set(paged.map((r) => r.id)).size).toBe(HOSTS);
    expect(paged.map((r) => r.hostId)).toEqual(hostIds);
    expect(pages.map((p) => p.length)).toEqual([37, 37, 37, 37, 2]);
    // The changes really came between pages: none of the pages read after the cancel has a queued run.
    expect(pages.slice(3).flat().filter((r) => r.state === 'queued')).toEqual([]);
    expect(pages.slice(3).flat().map((r) => r.state)).toContain('cancelled');
  });
});

describe('GET /v1/jobs/:id/runs filters', () => {
  let job: JobView;
  beforeAll(async () => {
    await everyHostOnline();
    job = await ok<JobView>('POST', '/v1/jobs', { program: { kind: 'bpftrace', script: 'BEGIN { printf("hi\\n"); exit(); }' }, durationSeconds: 60, targets: {} });
  });

  const runs = (query: string) => ok<RunPage>('GET', `/v1/jobs/${job.id}/runs?${query}`);

  it('by state: one, or several comma-separated', async () => {
    const unsupported = await runs('state=unsupported&limit=1000');
    expect(unsupported.items.map((r) => r.hostId)).toEqual(hostIds.slice(WITH_BPFTRACE));
    expect(unsupported.items.every((r) => r.state === 'unsupported' && r.error !== null)).toBe(true);
    expect(unsupported.nextCursor).toBeNull();
    expect((await runs('state=queued&limit=1000')).items.map((r) => r.hostId)).toEqual(hostIds.slice(0, WITH_BPFTRACE));
    expect((await runs('state=queued,unsupported&limit=1000')).items).toHaveLength(HOSTS);
    expect((await runs('state=succeeded')).items).toEqual([]);
  });

  it('by state, paged: every matching run once', async () => {
    const first = await runs('state=unsupported&limit=50');
    expect(first.items).toHaveLength(50);
    const rest = await pagesFrom(job.id, 'state=unsupported&limit=50', first.nextCursor);
    expect([first.items, ...rest].flat().map((r) => r.hostId)).toEqual(hostIds.slice(WITH_BPFTRACE));
  });

  it('by host id or name', async () => {
    const byId = await runs(`host=${hostIds[7]}`);
    expect(byId).toEqual({ items: [expect.objectContaining({ hostId: hostIds[7], hostName: `name-of-${hostIds[7]}` })], nextCursor: null });
    expect(await runs(`host=name-of-${hostIds[7]}`)).toEqual(byId);
    expect(await runs('host=no-such-host')).toEqual({ items: [], nextCursor: null });
    expect((await runs(`host=${hostIds[7]}&state=unsupported`)).items).toEqual([]);
  });

  it('limit: from 1 to 1000, 100 by default', async () => {
    const one = await runs('limit=1');
    expect(one.items.map((r) => r.hostId)).toEqual([hostIds[0]]);
    expect(one.nextCursor).toEqual(expect.any(String));
    expect((await runs('')).items).toHaveLength(JOB_VIEW_RUNS);
    const all = await runs('limit=1000');
    expect(all.items).toHaveLength(HOSTS);
    expect(all.nextCursor).toBeNull();
  });

  it.each([
    ['limit=0', 'limit must be a whole number from 1 to 1000'],
    ['limit=1001', 'limit must be a whole number from 1 to 1000'],
    ['limit=ten', 'limit must be a whole number from 1 to 1000'],
    ['cursor=bm9wZQ', "cursor must be a nextCursor from a previous page of this job's runs"],
    ['cursor=' + Buffer.from(JSON.stringify([0, 'host001', 'not-a-uuid'])).toString('base64url'), "cursor must be a nextCursor from a previous page of this job's runs"],
    ['cursor=', 'cursor must be a nextCursor from a previous page'],
    ['state=done', `state must be one or more of ${RUN_STATES.join(', ')}, comma-separated`],
    ['state=queued,done', `state must be one or more of ${RUN_STATES.join(', ')}, comma-separated`],
    ['host=', 'host must be a host id or name'],
    ['owner=me', 'unknown query parameter "owner"'],
  ])('400 for %s', async (query, message) => {
    const { status, body } = await t.request<ErrorBody>('GET', `/v1/jobs/${job.id}/runs?${query}`);
    expect({ status, body }).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message } });
  });

  it('404 for a job that does not exist; 400 for a job id that is no UUID', async () => {
    const missing = '7f1e7a52-54a0-4b8a-9a43-0c1fbd2f7f10';
    expect((await t.request('GET', `/v1/jobs/${missing}/runs`)).body).toEqual({ statusCode: 404, error: 'Not Found', message: `job ${missing} not found` });
    expect((await t.request('GET', '/v1/jobs/42/runs')).body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'job id must be a UUID' });
  });
});
