import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import pg from 'pg';
import {
  cancelledRunKey,
  hostQueueName,
  type JobPage,
  type JobPlanView,
  type JobView,
  type RunState,
  type ScheduleDetailView,
  type ScheduleView,
} from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// The whole API, worker role included, on fake hosts: the test reports run states as daemons would,
// so every rollout and cancel decision can be driven exactly.
let t: TestApi;
const queues: Queue[] = [];
const others: TestApi[] = [];

const FLEET = Array.from({ length: 12 }, (_, i) => hostInfo(`node-${String(i).padStart(2, '0')}`, { tier: i < 8 ? 'web' : 'db', zone: i % 2 ? 'b' : 'a' }));

beforeAll(async () => {
  t = await startApi('scheduler', { reaperIntervalMs: 200, scheduleLateSeconds: 3 });
  await registerHosts(t, FLEET);
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  for (const other of others) await other.close();
  await t?.close();
});

function queue(name: string): Queue {
  const q = new Queue(name, { connection: { url: t.config.redisUrl }, prefix: t.config.redisPrefix });
  queues.push(q);
  return q;
}

const job = (overrides: Record<string, unknown> = {}) => ({ program: 'execsnoop', durationSeconds: 30, ...overrides });

async function create(body: Record<string, unknown>): Promise<JobView> {
  const response = await t.request<JobView>('POST', '/v1/jobs', { body });
  if (response.status !== 201) throw new Error(`POST /v1/jobs answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

const getJob = async (id: string) => (await t.request<JobView>('GET', `/v1/jobs/${id}`)).body;

/** What a daemon reports for a run it took. */
async function report(runId: string, ...states: RunState[]): Promise<void> {
  for (const state of states) {
    if (state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'budget_exceeded' || state === 'unsupported') {
      await t.report({ type: 'summary', runId, at: Date.now(), state, ...(state === 'succeeded' ? {} : { error: `it ${state}` }), outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } });
    } else {
      await t.report({ type: 'state', runId, at: Date.now(), state });
    }
  }
}

const jobWhen = (id: string, what: string, done: (job: JobView) => boolean, timeoutMs = 15_000) =>
  waitFor(what, async () => {
    const body = await getJob(id);
    return done(body) && body;
  }, timeoutMs);

const statesOf = (view: JobView) => Object.fromEntries(view.runs.map((r) => [r.hostId, r.state]));

describe('GET /v1/jobs', () => {
  let made: JobView[];
  beforeAll(async () => {
    made = [];
    for (let i = 0; i < 5; i++) made.push(await create(job({ program: i % 2 ? 'syscount' : 'execsnoop', targets: { hosts: ['node-00'] }, durationSeconds: 1 })));
  });

  it('pages newest first with an opaque cursor, each item with its run-state counts', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/jobs?limit=2&createdBy=admin${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await t.request<JobPage>('GET', query);
      expect(status).toBe(200);
      expect(body.items.length).toBeLessThanOrEqual(2);
      for (const item of body.items) expect(item).toMatchObject({ createdBy: 'admin', hosts: 1, runStates: { queued: 1 } });
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    const mine = made.map((j) => j.id).reverse();
    expect(seen.filter((id) => mine.includes(id))).toEqual(mine);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('filters by program, state and time', async () => {
    const { body } = await t.request<JobPage>('GET', `/v1/jobs?program=syscount&state=running&since=${encodeURIComponent(made[0].createdAt)}`);
    expect(body.items.map((i) => i.id)).toEqual([made[3].id, made[1].id]);
    const { body: none } = await t.request<JobPage>('GET', `/v1/jobs?until=${encodeURIComponent(made[0].createdAt)}&program=syscount`);
    expect(none.items.map((i) => i.id)).not.toContain(made[1].id);
  });

  it.each([
    ['state=done', 'state must be one of running, completed'],
    ['limit=500', 'limit must be a whole number from 1 to 200'],
    ['limit=0', 'limit must be a whole number from 1 to 200'],
    ['since=yesterday', 'since must be a time like 2026-12-04T10:00:00Z'],
    ['scheduleId=42', 'scheduleId must be a UUID'],
    ['cursor=bm9wZQ', 'cursor must be a nextCursor from a previous page'],
    ['owner=me', 'unknown query parameter "owner"'],
  ])('400 for %s', async (query, message) => {
    const { body } = await t.request('GET', `/v1/jobs?${query}`);
    expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });
});

describe('targeting', () => {
  it('a seeded sample picks the same hosts every time, and another seed others', async () => {
    const targets = { selector: 'tier=web', sample: '50%', seed: 'team-a' };
    const [a, b, c] = [await create(job({ targets })), await create(job({ targets })), await create(job({ targets: { ...targets, seed: 'team-b' } }))];
    const hosts = (view: JobView) => view.runs.map((r) => r.hostId).sort();
    expect(hosts(a)).toHaveLength(4);
    expect(hosts(b)).toEqual(hosts(a));
    expect(hosts(c)).toHaveLength(4);
    expect(hosts(c)).not.toEqual(hosts(a));
    for (const id of hosts(a)) expect(FLEET.find((h) => h.id === id)!.labels.tier).toBe('web');
  });

  it('dry run: the plan, offline and sampled-out hosts apart, canaries then batches, and nothing created', async () => {
    await registerHosts(t, [hostInfo('old-web', { tier: 'web' })], Date.now() - 3600_000);
    const before = (await t.request<JobPage>('GET', '/v1/jobs?limit=200')).body.items.length;
    const { status, body } = await t.request<JobPlanView>('POST', '/v1/jobs?dryRun=true', {
      body: job({ targets: { selector: 'tier=web', maxHosts: 6 }, rollout: { canary: 1, batchSize: 3 } }),
    });
    expect(status).toBe(201);
    expect(body.dryRun).toBe(true);
    expect(body.hosts).toHaveLength(6);
    expect(body.offline).toEqual([{ id: 'old-web', name: 'old-web' }]);
    expect(body.sampledOut).toBe(2);
    expect(body.stages!.map((s) => s.length)).toEqual([1, 3, 2]);
    expect(body.stages!.flat()).toEqual(body.hosts);
    expect((await t.request<JobPage>('GET', '/v1/jobs?limit=200')).body.items.length).toBe(before);
    expect((await t.request('POST', '/v1/jobs?dryRun=maybe', { body: job() })).body).toMatchObject({ message: 'dryRun must be true or false' });
  });
});

describe('staged rollout', () => {
  it('holds the others until every canary is tracing, then releases the batches on their interval', async () => {
    const view = await create(job({ targets: { selector: 'zone=a' }, rollout: { canary: 2, batchSize: 2, batchIntervalSeconds: 1 } }));
    expect(view.runs).toHaveLength(6);
    const canaries = view.runs.filter((r) => r.state === 'queued');
    expect(canaries).toHaveLength(2);
    expect(view.runs.filter((r) => r.state === 'pending')).toHaveLength(4);
    for (const run of view.runs) expect(await queue(hostQueueName(run.hostId)).getJob(run.id), run.hostId).toEqual(run.state === 'queued' ? expect.anything() : undefined);

    await report(canaries[0].id, 'dispatched', 'loading', 'running');
    await report(canaries[1].id, 'dispatched', 'loading');
    // One canary tracing is not enough: the batches stay pending.
    await jobWhen(view.id, 'the first canary to be running', (j) => j.runs.some((r) => r.state === 'running'));
    expect(Object.values(statesOf(await getJob(view.id))).filter((s) => s === 'pending')).toHaveLength(4);

    await report(canaries[1].id, 'running');
    const firstBatch = await jobWhen(view.id, 'the first batch', (j) => j.runs.filter((r) => r.state === 'pending').length === 2);
    const secondBatch = await jobWhen(view.id, 'the second batch', (j) => j.runs.every((r) => r.state !== 'pending'));
    const releases = secondBatch.events.filter((e) => e.kind === 'stage_released');
    expect(releases.map((e) => e.message.replace(/: .*/, ''))).toEqual([
      'dispatched the canary stage to 2 hosts',
      'dispatched batch 1 of 2 to 2 hosts',
      'dispatched batch 2 of 2 to 2 hosts',
    ]);
    expect(Date.parse(releases[2].at) - Date.parse(releases[1].at)).toBeGreaterThanOrEqual(1000);
    expect(secondBatch.events.map((e) => e.kind)).toContain('canary_passed');
    expect(firstBatch.runs.filter((r) => r.state === 'queued')).toHaveLength(2);
  });

  it('stops at a failed canary: every other run ends cancelled naming the canary and its cause, and none was ever queued', async () => {
    const view = await create(job({ targets: { selector: 'tier=db' }, rollout: { canary: 1 } }));
    const canary = view.runs.find((r) => r.state === 'queued')!;
    await t.report({ type: 'summary', runId: canary.id, at: Date.now(), state: 'failed', error: 'verifier rejected the program: R1 invalid mem access', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } });
    const done = await jobWhen(view.id, 'the job to stop', (j) => j.state === 'completed');
    const reason = `canary failed on ${canary.hostName}: verifier rejected the program: R1 invalid mem access`;
    for (const run of done.runs.filter((r) => r.id !== canary.id)) {
      expect(run).toMatchObject({ state: 'cancelled', error: reason, startDeadline: null });
      expect(await queue(hostQueueName(run.hostId)).getJob(run.id)).toBeUndefined();
    }
    expect(done.events.map((e) => [e.kind, e.message])).toContainEqual(['canary_failed', reason]);
  });

  it('cancels the runs not yet dispatched once failures pass maxFailures', async () => {
    const view = await create(job({ targets: { selector: 'tier=web' }, rollout: { batchSize: 2, batchIntervalSeconds: 3600, maxFailures: 1 } }));
    const first = view.runs.filter((r) => r.state === 'queued');
    expect(first).toHaveLength(2);
    await report(first[0].id, 'dispatched', 'failed');
    // One failure is within the limit.
    await jobWhen(view.id, 'the first failure', (j) => j.runs.some((r) => r.state === 'failed'));
    expect(Object.values(statesOf(await getJob(view.id))).filter((s) => s === 'pending')).toHaveLength(6);
    await report(first[1].id, 'dispatched', 'budget_exceeded');
    const stopped = await jobWhen(view.id, 'the rollout to stop', (j) => j.runs.every((r) => r.state !== 'pending'));
    const cancelled = stopped.runs.filter((r) => r.state === 'cancelled');
    expect(cancelled).toHaveLength(6);
    for (const run of cancelled) expect(run.error).toBe('rollout stopped: 2 failed runs exceed maxFailures 1');
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('ends queued runs at once and takes them out of their queues, marks taken ones for their hosts, twice harmlessly, and audits who', async () => {
    const view = await create(job({ targets: { hosts: ['node-01', 'node-02', 'node-03'] } }));
    const [taken, ...waiting] = view.runs;
    await report(taken.id, 'dispatched', 'running');
    await jobWhen(view.id, 'one run to be running', (j) => j.runs.some((r) => r.state === 'running'));

    const { status, body } = await t.request<JobView>('POST', `/v1/jobs/${view.id}/cancel`, { body: { reason: 'wrong fleet' } });
    expect(status).toBe(200);
    expect(body.cancelled).toMatchObject({ by: 'admin', reason: 'cancelled by admin: wrong fleet' });
    expect(statesOf(body)).toEqual({ [taken.hostId]: 'running', [waiting[0].hostId]: 'cancelled', [waiting[1].hostId]: 'cancelled' });
    for (const run of waiting) expect(await queue(hostQueueName(run.hostId)).getJob(run.id)).toBeUndefined();
    // The host running one learns it from its control channel, or from this mark before it starts one.
    expect(await t.redis.get(cancelledRunKey(t.config.redisPrefix, taken.id))).toBe('cancelled by admin: wrong fleet');

    const again = await t.request<JobView>('POST', `/v1/jobs/${view.id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.cancelled).toEqual(body.cancelled);

    // The host confirms with what it saw so far.
    await report(taken.id, 'cancelled');
    const done = await jobWhen(view.id, 'the job to complete', (j) => j.state === 'completed');
    expect(done.events.map((e) => e.kind)).toEqual(['created', 'stage_released', 'cancel_requested', 'completed']);
    const finished = await t.request('POST', `/v1/jobs/${view.id}/cancel`);
    expect(finished.body).toEqual({ statusCode: 409, error: 'Conflict', message: `job ${view.id} already completed` });

    const db = new pg.Client(t.config.databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query('SELECT actor, action, detail FROM audit WHERE subject = $1 ORDER BY id', [view.id]);
      // The second cancel changed nothing, but who asked is on the record too.
      expect(rows.map((r) => [r.actor, r.action])).toEqual([
        ['admin', 'job.create'],
        ['admin', 'job.cancel'],
        ['admin', 'job.cancel'],
      ]);
      expect(rows[1].detail).toEqual({ reason: 'wrong fleet' });
      expect(rows[2].detail).toEqual({ alreadyCancelled: true });
    } finally {
      await db.end();
    }
  });

  it('ends an unconfirmed cancel once the host is silent past grace and slack', async () => {
    const quick = await startApi('scheduler-cancel', { reaperIntervalMs: 200, silenceSlackSeconds: 0 });
    others.push(quick);
    await registerHosts(quick, [hostInfo('mute-1')]);
    const { body: view } = await quick.request<JobView>('POST', '/v1/jobs', { body: job({ targets: { hosts: ['mute-1'] } }) });
    await quick.report({ type: 'state', runId: view.runs[0].id, at: Date.now(), state: 'running' });
    await waitFor('the run to be running', async () => (await quick.request<JobView>('GET', `/v1/jobs/${view.id}`)).body.runs[0].state === 'running');
    await quick.request('POST', `/v1/jobs/${view.id}/cancel`);
    const done = await waitFor('the reaper to end the run', async () => {
      const { body } = await quick.request<JobView>('GET', `/v1/jobs/${view.id}`);
      return body.state === 'completed' && body;
    }, 20_000);
    expect(done.runs[0]).toMatchObject({ state: 'cancelled', error: 'host mute-1 did not confirm the cancel' });
  });

  it('400 for an id that is no UUID, 404 for an unknown job', async () => {
    expect((await t.request('POST', '/v1/jobs/42/cancel')).body).toMatchObject({ statusCode: 400, message: 'job id must be a UUID' });
    const id = '0b8e1c43-2f5a-4c55-9f0e-3c9f1b8f4d21';
    expect((await t.request('POST', `/v1/jobs/${id}/cancel`)).body).toMatchObject({ statusCode: 404, message: `job ${id} not found` });
  });
});

describe('schedules', () => {
  const schedule = (overrides: Record<string, unknown> = {}) => ({ name: 'nightly', everySeconds: 1, job: job({ targets: { hosts: ['node-11'] }, durationSeconds: 1 }), ...overrides });

  it.each([
    [{ cron: '*/5 * * * *' }, 'a schedule needs exactly one of cron or everySeconds'],
    [{ everySeconds: undefined }, 'a schedule needs exactly one of cron or everySeconds'],
    [{ everySeconds: 0 }, 'everySeconds must be a whole number of seconds from 1 to 604800'],
    [{ everySeconds: undefined, cron: '61 * * * *' }, 'cron "61 * * * *" is not a cron expression: Constraint error, got value 61 expected range 0-59'],
    [{ everySeconds: undefined, cron: '* * * * *', timezone: 'Mars/Olympus' }, 'timezone must be an IANA time zone like "Europe/Paris"'],
    [{ timezone: 'UTC' }, 'timezone applies to a cron schedule only'],
    [{ overlap: 'queue' }, 'overlap must be "skip" or "allow"'],
    [{ job: { program: 'nope', durationSeconds: 1 } }, expect.stringMatching(/^unknown program "nope"/)],
    [{ job: { program: 'execsnoop', durationSeconds: 0 } }, 'job.durationSeconds must be at least 1 s'],
    [{ owner: 'me' }, 'unknown field "owner"'],
  ])('POST %j is refused with an exact message', async (change, message) => {
    const { body } = await t.request('POST', '/v1/schedules', { body: schedule(change) });
    expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it('creates, lists, shows, pauses, resumes and removes a cron schedule, with its next firing and an audit of each change', async () => {
    const created = await t.request<ScheduleDetailView>('POST', '/v1/schedules', {
      body: schedule({ name: 'every minute in Paris', everySeconds: undefined, cron: '* * * * *', timezone: 'Europe/Paris' }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({ cron: '* * * * *', timezone: 'Europe/Paris', everySeconds: null, overlap: 'skip', enabled: true, createdBy: 'admin', firings: [], jobs: [] });
    const next = Date.parse(created.body.nextFiringAt!);
    expect(next).toBeGreaterThan(Date.now() - 1000);
    expect(next).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(new Date(next).getUTCSeconds()).toBe(0);

    expect((await t.request<ScheduleView[]>('GET', '/v1/schedules')).body.map((s) => s.id)).toContain(id);
    const paused = await t.request<ScheduleDetailView>('PATCH', `/v1/schedules/${id}`, { body: { enabled: false } });
    expect(paused.body).toMatchObject({ enabled: false, nextFiringAt: null });
    const resumed = await t.request<ScheduleDetailView>('PATCH', `/v1/schedules/${id}`, { body: { enabled: true, name: 'renamed' } });
    expect(resumed.body).toMatchObject({ enabled: true, name: 'renamed' });
    expect(resumed.body.nextFiringAt).not.toBeNull();
    expect((await t.request('PATCH', `/v1/schedules/${id}`, { body: {} })).body).toMatchObject({ message: 'request body must change at least one field' });
    expect((await t.request('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
    expect((await t.request('GET', `/v1/schedules/${id}`)).body).toMatchObject({ statusCode: 404, message: `schedule ${id} not found` });

    const db = new pg.Client(t.config.databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query('SELECT actor, action FROM audit WHERE subject = $1 ORDER BY id', [id]);
      expect(rows.map((r) => r.action)).toEqual(['schedule.create', 'schedule.pause', 'schedule.resume', 'schedule.delete']);
      expect(new Set(rows.map((r) => r.actor))).toEqual(new Set(['admin']));
    } finally {
      await db.end();
    }
  });

  it('everySeconds: 2 fires at least 3 times in 7 s, each firing an ordinary job carrying the schedule id', async () => {
    const { body } = await t.request<ScheduleDetailView>('POST', '/v1/schedules', {
      body: schedule({ name: 'every 2 s', everySeconds: 2, overlap: 'allow' }),
    });
    const started = Date.now();
    const fired = await waitFor('3 firings', async () => {
      const { body: detail } = await t.request<ScheduleDetailView>('GET', `/v1/schedules/${body.id}`);
      const jobs = detail.firings.filter((f) => f.outcome === 'started' && f.jobId);
      return jobs.length >= 3 && detail;
    }, 20_000);
    const firstThree = fired.firings.filter((f) => f.outcome === 'started').slice(-3);
    expect(Date.parse(firstThree[2].at) - started).toBeLessThanOrEqual(7000);
    await t.request('PATCH', `/v1/schedules/${body.id}`, { body: { enabled: false } });
    const { body: page } = await t.request<JobPage>('GET', `/v1/jobs?scheduleId=${body.id}`);
    expect(page.items.length).toBeGreaterThanOrEqual(3);
    for (const item of page.items) expect(item).toMatchObject({ scheduleId: body.id, createdBy: 'admin', program: 'execsnoop' });
    expect(fired.jobs.map((j) => j.id)).toEqual(expect.arrayContaining(firstThree.map((f) => f.jobId)));
  });

  it('overlap skip: a firing while the previous job still runs is recorded skipped, naming that job', async () => {
    const { body } = await t.request<ScheduleDetailView>('POST', '/v1/schedules', {
      body: schedule({ name: 'long', everySeconds: 1, overlap: 'skip', job: job({ targets: { hosts: ['node-10'] }, durationSeconds: 60 }) }),
    });
    const detail = await waitFor('a skipped firing', async () => {
      const { body: d } = await t.request<ScheduleDetailView>('GET', `/v1/schedules/${body.id}`);
      return d.firings.some((f) => f.outcome === 'skipped') && d;
    });
    await t.request('PATCH', `/v1/schedules/${body.id}`, { body: { enabled: false } });
    const started = detail.firings.filter((f) => f.outcome === 'started');
    expect(started).toHaveLength(1);
    expect(detail.firings.find((f) => f.outcome === 'skipped')!.reason).toBe(`the previous job ${started[0].jobId} is still running`);
  });

  it('two API processes fire each occurrence once', async () => {
    const second = await startApi('scheduler', { databaseUrl: t.config.databaseUrl, redisPrefix: t.config.redisPrefix, ingestConsumer: 'second' });
    others.push(second);
    const { body } = await t.request<ScheduleDetailView>('POST', '/v1/schedules', {
      body: schedule({ name: 'twice served', everySeconds: 1, overlap: 'allow' }),
    });
    await waitFor('5 firings', async () => {
      const { body: d } = await t.request<ScheduleDetailView>('GET', `/v1/schedules/${body.id}`);
      return d.firings.filter((f) => f.outcome === 'started').length >= 5;
    }, 20_000);
    await t.request('PATCH', `/v1/schedules/${body.id}`, { body: { enabled: false } });
    const db = new pg.Client(t.config.databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query<{ due_at: Date; jobs: number }>(
        `SELECT f.due_at, count(j.id)::int AS jobs FROM schedule_firings f LEFT JOIN jobs j ON j.schedule_id = f.schedule_id
           AND j.id = f.job_id WHERE f.schedule_id = $1 AND f.outcome = 'started' GROUP BY f.due_at`,
        [body.id],
      );
      expect(rows.every((r) => r.jobs === 1)).toBe(true);
      const { rows: all } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs WHERE schedule_id = $1', [body.id]);
      expect(all[0].n).toBe(rows.length);
    } finally {
      await db.end();
    }
  });

  it('records as skipped the firings that fell while no API process was up, without replaying them', async () => {
    const alone = await startApi('scheduler-down', { scheduleLateSeconds: 2 });
    await registerHosts(alone, [hostInfo('node-x')]);
    const { body } = await alone.request<ScheduleDetailView>('POST', '/v1/schedules', {
      body: { name: 'while down', everySeconds: 1, overlap: 'allow', job: job({ targets: { hosts: ['node-x'] }, durationSeconds: 1 }) },
    });
    await waitFor('a first firing', async () => (await alone.request<ScheduleDetailView>('GET', `/v1/schedules/${body.id}`)).body.firings.length > 0);
    const config = alone.config;
    await alone.close();
    const downSince = Date.now();
    // Nothing runs the scheduler now; what is due meanwhile cannot fire.
    await waitFor('5 s without an API process', async () => Date.now() - downSince > 5000, 10_000);
    const back = await startApi('scheduler-down', { databaseUrl: config.databaseUrl, redisPrefix: config.redisPrefix, ingestConsumer: config.ingestConsumer, scheduleLateSeconds: 2 });
    others.push(back);
    const detail = await waitFor('the missed firings to be recorded', async () => {
      const { body: d } = await back.request<ScheduleDetailView>('GET', `/v1/schedules/${body.id}`);
      return d.firings.filter((f) => f.outcome === 'skipped').length >= 3 && d;
    });
    await back.request('PATCH', `/v1/schedules/${body.id}`, { body: { enabled: false } });
    const skipped = detail.firings.filter((f) => f.outcome === 'skipped');
    for (const firing of skipped) {
      expect(firing.reason).toMatch(/^no API process was running when it was due \(delivered \d+ s late\)$/);
      expect(Date.parse(firing.at)).toBeGreaterThanOrEqual(downSince - 1000);
    }
    // Not replayed: no job was started for a due time in the down window.
    const startedInWindow = detail.firings.filter((f) => f.outcome === 'started' && Date.parse(f.at) > downSince + 1000 && Date.parse(f.at) < downSince + 5000);
    expect(startedInWindow).toEqual([]);
  });
});
