import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freshDatabaseUrl } from '@fleettrace/testing/database';
import { DEFAULT_TIMINGS, type ApiConfig } from '../src/config';
import { DatabaseRepository } from '../src/repositories/database.repository';
import { MigrationRepository } from '../src/repositories/migration.repository';
import { MIGRATIONS } from '../src/migrations';
import { runStateRank, type HostInfo } from '@fleettrace/contracts';
import { HostRepository } from '../src/repositories/host.repository';
import { JobRepository } from '../src/repositories/job.repository';
import { RunRepository } from '../src/repositories/run.repository';
import { ResultRepository } from '../src/repositories/result.repository';
import { ApiTokenRepository } from '../src/repositories/api-token.repository';
import { hostInfo } from './support/api';

let database: DatabaseRepository;
let hosts: HostRepository;
let jobs: JobRepository;
let runs: RunRepository;
let results: ResultRepository;
const opened: DatabaseRepository[] = [];

function open(databaseUrl: string): DatabaseRepository {
  const config = { databaseUrl, ...DEFAULT_TIMINGS } as ApiConfig;
  const repository = new DatabaseRepository(config);
  opened.push(repository);
  return repository;
}

beforeAll(async () => {
  Logger.overrideLogger(false);
  database = open(freshDatabaseUrl(inject('postgresUrl'), 'repos'));
  await new MigrationRepository(database).migrate();
  hosts = new HostRepository(database);
  jobs = new JobRepository(database);
  runs = new RunRepository(database);
  results = new ResultRepository(database);
  await hosts.upsert(database.pool, { host: hostInfo('h1'), at: new Date() });
  await hosts.upsert(database.pool, { host: hostInfo('h2'), at: new Date() });
});

afterAll(async () => {
  for (const repository of opened) await repository.onApplicationShutdown();
});

/** A running job with one queued run per host; returns the run ids in host order. */
async function seedJob(hostIds: string[], options: { startDeadline?: Date; durationSeconds?: number } = {}) {
  const jobId = randomUUID();
  const now = new Date();
  await database.transaction(async (tx) => {
    await jobs.insert(tx, {
      id: jobId,
      program: 'execsnoop',
      params: {},
      targets: { hostIds },
      durationSeconds: options.durationSeconds ?? 10,
      state: 'running',
      createdBy: 'admin',
      createdAt: now,
      finishedAt: null,
    });
    await runs.insertMany(
      tx,
      hostIds.map((hostId) => ({ id: randomUUID(), jobId, hostId, startDeadline: options.startDeadline ?? new Date(Date.now() + 30_000), queuedAt: now })),
    );
  });
  const list = await runs.listByJob(jobId);
  return { jobId, runIds: list.map((r) => r.id) };
}

describe('MigrationRepository', () => {
  it('applies each migration once, even when several processes start at the same time', async () => {
    const url = freshDatabaseUrl(inject('postgresUrl'), 'migrate');
    const applied = await Promise.all([open(url), open(url), open(url)].map((db) => new MigrationRepository(db).migrate()));
    expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await new MigrationRepository(open(url)).migrate()).toEqual([]);
  });

  it('0002 moves terminal runs written before it to the new terminal rank, so they still never move back', async () => {
    const url = freshDatabaseUrl(inject('postgresUrl'), 'migrate-ranks');
    const db = open(url);
    await new MigrationRepository(db).migrate(MIGRATIONS.slice(0, 1));
    const jobId = randomUUID();
    await db.pool.query(
      `INSERT INTO hosts (id, name, kernel_release, arch, btf, daemon_version, tools, registered_at, last_heartbeat_at)
       VALUES ('h1', 'h1', '6.1', 'x86_64', true, '0.1.0', '{}', now(), now())`,
    );
    await db.pool.query(
      `INSERT INTO jobs (id, program, params, targets, duration_seconds, state, created_by, created_at)
       VALUES ($1, 'execsnoop', '{}', '{"all":true}', 5, 'running', 'admin', now())`,
      [jobId],
    );
    // As 0001-era code wrote them: terminal rank 12, running rank 4.
    const [done, live] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO runs (id, job_id, host_id, state, state_rank, start_deadline, queued_at, updated_at)
       VALUES ($1, $3, 'h1', 'succeeded', 12, now(), now(), now()), ($2, $4, 'h1', 'running', 4, now(), now(), now())`,
      [done, live, jobId, await secondJob(db)],
    );
    expect(await new MigrationRepository(db).migrate(MIGRATIONS.slice(0, 2))).toEqual(['0002-run-limits']);
    const ranks = await db.pool.query<{ id: string; state_rank: number }>('SELECT id, state_rank FROM runs');
    expect(Object.fromEntries(ranks.rows.map((r) => [r.id, r.state_rank]))).toEqual({ [done]: runStateRank('succeeded'), [live]: 4 });
    const repo = new RunRepository(db);
    expect(await repo.advance(db.pool, { runId: done, state: 'budget_exceeded', at: new Date() })).toBeUndefined();
    expect(await repo.advance(db.pool, { runId: live, state: 'budget_exceeded', at: new Date(), error: 'over budget' })).toBeDefined();
    expect(await repo.advance(db.pool, { runId: live, state: 'succeeded', at: new Date() })).toBeUndefined();
  });
});

async function secondJob(db: DatabaseRepository): Promise<string> {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO jobs (id, program, params, targets, duration_seconds, state, created_by, created_at)
     VALUES ($1, 'execsnoop', '{}', '{"all":true}', 5, 'running', 'admin', now())`,
    [id],
  );
  return id;
}

describe('HostRepository', () => {
  it('keeps the first registration time and never moves the heartbeat back', async () => {
    const first = new Date('2030-01-01T00:00:00Z');
    await hosts.upsert(database.pool, { host: hostInfo('h-time'), at: first });
    await hosts.upsert(database.pool, { host: { ...hostInfo('h-time'), daemonVersion: '0.2.0' }, at: new Date('2030-01-01T00:01:00Z') });
    await hosts.upsert(database.pool, { host: hostInfo('h-time'), at: new Date('2030-01-01T00:00:30Z') });
    const host = (await hosts.list()).find((h) => h.id === 'h-time');
    expect(host?.registeredAt).toEqual(first);
    expect(host?.lastHeartbeatAt).toEqual(new Date('2030-01-01T00:01:00Z'));
    expect(host?.daemonVersion).toBe('0.1.0');
  });

  it('keeps the last capability report when a heartbeat carries none', async () => {
    const capabilities = { kernelRelease: '6.1.0', probeDurationMs: 12 } as unknown as NonNullable<HostInfo['capabilities']>;
    await hosts.upsert(database.pool, { host: { ...hostInfo('h-caps'), capabilities }, at: new Date() });
    await hosts.upsert(database.pool, { host: hostInfo('h-caps'), at: new Date() });
    expect((await hosts.list()).find((h) => h.id === 'h-caps')?.capabilities).toEqual(capabilities);
    await hosts.upsert(database.pool, { host: hostInfo('h-none'), at: new Date() });
    expect((await hosts.list()).find((h) => h.id === 'h-none')?.capabilities).toBeUndefined();
  });
});

describe('RunRepository', () => {
  it('applies a state only when it moves the run forward, and sets each time once', async () => {
    const { jobId, runIds } = await seedJob(['h1']);
    const [runId] = runIds;
    const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
    expect(await runs.advance(database.pool, { runId, state: 'running', at: at(2) })).toBeDefined();
    expect(await runs.advance(database.pool, { runId, state: 'dispatched', at: at(1) })).toBeUndefined();
    expect(await runs.advance(database.pool, { runId, state: 'draining', at: at(3) })).toBeDefined();
    expect(await runs.advance(database.pool, { runId, state: 'succeeded', at: at(4) })).toBeDefined();
    expect(await runs.advance(database.pool, { runId, state: 'failed', at: at(5), error: 'late' })).toBeUndefined();
    const [run] = await runs.listByJob(jobId);
    expect(run).toMatchObject({ state: 'succeeded', error: null, dispatchedAt: at(2), startedAt: at(2), finishedAt: at(4) });
  });

  it('marks queued runs past the cutoff missed, and only those', async () => {
    const past = await seedJob(['h1'], { startDeadline: new Date(Date.now() - 10_000) });
    const future = await seedJob(['h1']);
    const started = await seedJob(['h2'], { startDeadline: new Date(Date.now() - 10_000) });
    await runs.advance(database.pool, { runId: started.runIds[0], state: 'dispatched', at: new Date() });
    const missed = await runs.markMissed(new Date());
    expect(missed.map((r) => r.id)).toContain(past.runIds[0]);
    expect(missed.map((r) => r.id)).not.toContain(future.runIds[0]);
    expect(missed.map((r) => r.id)).not.toContain(started.runIds[0]);
    const [run] = await runs.listByJob(past.jobId);
    expect(run).toMatchObject({ state: 'missed', error: 'host h1 did not start the run before its start deadline' });
  });

  it('times out started runs only past start deadline + duration + grace + slack', async () => {
    const deadline = new Date(Date.now() - 20_000);
    const { jobId, runIds } = await seedJob(['h1'], { startDeadline: deadline, durationSeconds: 10 });
    await runs.advance(database.pool, { runId: runIds[0], state: 'running', at: new Date() });
    // deadline + 10 s + 5 s grace + 10 s slack is still 5 s ahead
    expect((await runs.markSilent(new Date(), 5, 10)).map((r) => r.id)).not.toContain(runIds[0]);
    expect((await runs.markSilent(new Date(), 5, 0)).map((r) => r.id)).toContain(runIds[0]);
    expect((await runs.listByJob(jobId))[0]).toMatchObject({ state: 'timed_out', error: 'host h1 stopped reporting' });
  });

  it('stores the limits, overhead and warnings of a summary, keeping earlier ones when a summary has none', async () => {
    const { jobId, runIds } = await seedJob(['h1']);
    const limits = { mapMemoryBytes: 1 << 26, mapMemoryEstimateBytes: 300_000, eventsPerSecond: 10_000, overheadBudgetPercent: 2, overheadWindowMs: 1000, maxEventsPerOutput: 10_000 };
    const overhead = { measured: true, peakCpuPercent: 39.3, meanCpuPercent: 39.2, bpfRunTimeNs: 4e8, bpfRunCount: 2017, windowMs: 1000, samples: 6, budgetExceeded: true };
    const warnings = { first: ['WARNING: could not attach probe kprobe:vfs_open, skipping.'], distinct: 1 };
    expect((await runs.listByJob(jobId))[0]).toMatchObject({ warnings: null });
    await runs.recordSummary(database.pool, runIds[0], { counters: { events: 0, lostEvents: 0, droppedEvents: 0, droppedByRate: 0 }, limits, overhead, warnings });
    await runs.recordSummary(database.pool, runIds[0], { counters: { events: 0, lostEvents: 0, droppedEvents: 0 } });
    expect((await runs.listByJob(jobId))[0]).toMatchObject({ limits, overhead, warnings });
  });
});

describe('JobRepository.completeIfFinished', () => {
  it('completes a job only once all its runs are terminal', async () => {
    const { jobId, runIds } = await seedJob(['h1', 'h2']);
    await runs.advance(database.pool, { runId: runIds[0], state: 'succeeded', at: new Date() });
    expect(await database.transaction((tx) => jobs.completeIfFinished(tx, [jobId]))).toEqual([]);
    await runs.advance(database.pool, { runId: runIds[1], state: 'missed', at: new Date() });
    expect(await database.transaction((tx) => jobs.completeIfFinished(tx, [jobId]))).toEqual([jobId]);
    expect((await jobs.findById(jobId))?.state).toBe('completed');
  });

  it('completes the job when two transactions end its last two runs at the same time', async () => {
    const { jobId, runIds } = await seedJob(['h1', 'h2']);
    const first = await database.pool.connect();
    const second = await database.pool.connect();
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      await runs.advance(first, { runId: runIds[0], state: 'succeeded', at: new Date() });
      await runs.advance(second, { runId: runIds[1], state: 'succeeded', at: new Date() });
      expect(await jobs.completeIfFinished(first, [jobId])).toEqual([]);
      // Waits on the job row the first transaction locked, then sees what it committed.
      const secondDone = jobs.completeIfFinished(second, [jobId]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.query('COMMIT');
      expect(await secondDone).toEqual([jobId]);
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    expect((await jobs.findById(jobId))?.state).toBe('completed');
  });
});

describe('ResultRepository', () => {
  it('stores each event once, skips unknown runs, and reads the earliest per output exactly', async () => {
    const { runIds } = await seedJob(['h1']);
    const [runId] = runIds;
    const rows = ['9007199254740993', '9007199254740992', '1'].map((ts, idx) => ({
      runId,
      seq: 0,
      idx,
      output: 'execs',
      ts,
      data: { ts, idx },
    }));
    const stranger = { ...rows[0], runId: randomUUID() };
    expect(await results.insertEvents(database.pool, [...rows, stranger])).toBe(3);
    expect(await results.insertEvents(database.pool, rows)).toBe(0);
    const firstTwo = await results.eventsOf([runId], 2);
    expect(firstTwo.map((e) => e.ts)).toEqual(['1', '9007199254740992']);
    expect(await results.eventCountsOf([runId])).toEqual([{ runId, output: 'execs', stored: 3 }]);
  });
});

describe('ApiTokenRepository', () => {
  it('finds a token by hash, and a new hash for the same name replaces the old', async () => {
    const tokens = new ApiTokenRepository(database);
    await tokens.upsert('ci', 'hash-1');
    expect(await tokens.findNameByHash('hash-1')).toBe('ci');
    await tokens.upsert('ci', 'hash-2');
    expect(await tokens.findNameByHash('hash-1')).toBeUndefined();
    expect(await tokens.findNameByHash('hash-2')).toBe('ci');
  });
});
