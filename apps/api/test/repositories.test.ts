import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freshDatabaseUrl } from '@fleettrace/testing/database';
import { DEFAULT_TIMINGS, type ApiConfig } from '../src/config';
import { DatabaseRepository } from '../src/repositories/database.repository';
import { MigrationRepository } from '../src/repositories/migration.repository';
import { MIGRATIONS } from '../src/migrations';
import { runStateTransitionPairs, type HostInfo, type RunState, defaultRunLimits } from '@fleettrace/contracts';
import { HostRepository } from '../src/repositories/host.repository';
import { JobRepository } from '../src/repositories/job.repository';
import { RunRepository } from '../src/repositories/run.repository';
import { ResultRepository } from '../src/repositories/result.repository';
import { ApiTokenRepository } from '../src/repositories/api-token.repository';
import { RetentionService } from '../src/services/retention.service';
import { hostInfo, waitFor } from './support/api';

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
  await hosts.upsert(database.pool, [{ host: hostInfo('h1'), at: new Date() }]);
  await hosts.upsert(database.pool, [{ host: hostInfo('h2'), at: new Date() }]);
});

afterAll(async () => {
  for (const repository of opened) await repository.onApplicationShutdown();
});

/** A running job with one queued run per host; returns the run ids in host order. */
async function seedJob(hostIds: string[], options: { startDeadline?: Date; durationSeconds?: number } = {}) {
  const jobId = randomUUID();
  const now = new Date();
  const startDeadline = options.startDeadline ?? new Date(Date.now() + 30_000);
  const durationSeconds = options.durationSeconds ?? 10;
  await database.transaction(async (tx) => {
    await jobs.insert(tx, {
      id: jobId,
      program: 'execsnoop',
      programLabel: 'execsnoop',
      params: {},
      targets: { hosts: hostIds },
      durationSeconds,
      limits: { ...defaultRunLimits(), maxEventsPerOutput: 100 },
      programPolicy: null,
      rollout: null,
      snapshotSeconds: null,
      state: 'running',
      createdBy: 'admin',
      createdAt: now,
      finishedAt: null,
      scheduleId: null,
      cancelledAt: null,
      cancelledBy: null,
      cancelReason: null,
    });
    const ids = hostIds.map(() => randomUUID());
    await runs.insertMany(tx, hostIds.map((hostId, i) => ({ id: ids[i]!, jobId, hostId, stage: 0, queuedAt: now })));
    await runs.release(tx, ids.map((runId) => ({ runId, deadlines: { startDeadline, endDeadline: new Date(startDeadline.getTime() + (durationSeconds + 5) * 1000) } })));
  });
  const list = await database.snapshot((tx) => runs.listByJob(jobId, tx));
  return { jobId, runIds: list.map((r) => r.id) };
}

describe('MigrationRepository', () => {
  it('applies each migration once, even when several processes start at the same time', async () => {
    const url = freshDatabaseUrl(inject('postgresUrl'), 'migrate');
    const applied = await Promise.all([open(url), open(url), open(url)].map((db) => new MigrationRepository(db).migrate()));
    expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await new MigrationRepository(open(url)).migrate()).toEqual([]);
  });

  it('writes the run state machine of libs/contracts into the database, whose trigger refuses any other change', async () => {
    const { rows } = await database.pool.query<{ from_state: string; to_state: string }>('SELECT from_state, to_state FROM run_state_transitions');
    const stored = rows.map((r) => `${r.from_state}>${r.to_state}`).sort();
    expect(stored).toEqual(runStateTransitionPairs().map(([from, to]) => `${from}>${to}`).sort());
    const { runIds } = await seedJob(['h1']);
    await database.pool.query(`UPDATE runs SET state = 'succeeded' WHERE id = $1`, [runIds[0]]);
    await expect(database.pool.query(`UPDATE runs SET state = 'running' WHERE id = $1`, [runIds[0]])).rejects.toThrow(
      `run ${runIds[0]} may not go from succeeded to running`,
    );
    const { rows: ended } = await database.pool.query<{ finished_at: Date | null }>('SELECT finished_at FROM runs WHERE id = $1', [runIds[0]]);
    expect(ended[0]!.finished_at).toBeInstanceOf(Date);
  });

  it('0006 keeps runs written with a rank: their states stay, finished ones stay finished', async () => {
    const url = freshDatabaseUrl(inject('postgresUrl'), 'migrate-ranks');
    const db = open(url);
    const before = MIGRATIONS.filter((m) => m.name < '0006');
    await new MigrationRepository(db).migrate(before);
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
    // As pre-0006 code wrote them: terminal rank 13, running rank 4.
    const [done, live] = [randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO runs (id, job_id, host_id, state, state_rank, start_deadline, queued_at, updated_at, finished_at)
       VALUES ($1, $3, 'h1', 'succeeded', 13, now(), now(), now(), now()), ($2, $4, 'h1', 'running', 4, now(), now(), now(), NULL)`,
      [done, live, jobId, await secondJob(db)],
    );
    expect(await new MigrationRepository(db).migrate()).toEqual(MIGRATIONS.filter((m) => m.name >= '0006').map((m) => m.name));
    const repo = new RunRepository(db);
    expect(await repo.advance(db.pool, [{ runId: done, state: 'budget_exceeded', at: new Date() }])).toEqual([]);
    expect(await repo.advance(db.pool, [{ runId: live, state: 'budget_exceeded', at: new Date(), error: 'over budget' }])).toHaveLength(1);
    expect(await repo.advance(db.pool, [{ runId: live, state: 'succeeded', at: new Date() }])).toEqual([]);
    const { rows } = await db.pool.query<{ program_label: string }>('SELECT program_label FROM jobs WHERE id = $1', [jobId]);
    expect(rows[0]!.program_label).toBe('execsnoop');
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
    await hosts.upsert(database.pool, [{ host: hostInfo('h-time'), at: first }]);
    await hosts.upsert(database.pool, [{ host: { ...hostInfo('h-time'), daemonVersion: '0.2.0' }, at: new Date('2030-01-01T00:01:00Z') }]);
    await hosts.upsert(database.pool, [{ host: hostInfo('h-time'), at: new Date('2030-01-01T00:00:30Z') }]);
    const host = (await hosts.list()).find((h) => h.id === 'h-time');
    expect(host?.registeredAt).toEqual(first);
    expect(host?.lastHeartbeatAt).toEqual(new Date('2030-01-01T00:01:00Z'));
    expect(host?.daemonVersion).toBe('0.1.0');
  });

  it('keeps the last capability report when a heartbeat carries none', async () => {
    const capabilities = { kernelRelease: '6.1.0', probeDurationMs: 12 } as unknown as NonNullable<HostInfo['capabilities']>;
    await hosts.upsert(database.pool, [{ host: { ...hostInfo('h-caps'), capabilities }, at: new Date() }]);
    await hosts.upsert(database.pool, [{ host: hostInfo('h-caps'), at: new Date() }]);
    expect((await hosts.list()).find((h) => h.id === 'h-caps')?.capabilities).toEqual(capabilities);
    await hosts.upsert(database.pool, [{ host: hostInfo('h-none'), at: new Date() }]);
    expect((await hosts.list()).find((h) => h.id === 'h-none')?.capabilities).toBeUndefined();
  });
});

describe('RunRepository', () => {
  it('applies a state only where the state machine allows it, and sets each time once', async () => {
    const { jobId, runIds } = await seedJob(['h1']);
    const runId = runIds[0]!;
    const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
    const advance = async (state: RunState, s: number, error?: string) => (await runs.advance(database.pool, [{ runId, state, at: at(s), error }])).length;
    expect(await advance('running', 2)).toBe(1);
    expect(await advance('dispatched', 1)).toBe(0);
    expect(await advance('draining', 3)).toBe(1);
    expect(await advance('succeeded', 4)).toBe(1);
    expect(await advance('failed', 5, 'late')).toBe(0);
    const [run] = await database.snapshot((tx) => runs.listByJob(jobId, tx));
    expect(run).toMatchObject({ state: 'succeeded', error: null, dispatchedAt: at(2), startedAt: at(2), finishedAt: at(4) });
  });

  it('finds queued runs past their start deadline, and only those', async () => {
    const past = await seedJob(['h1'], { startDeadline: new Date(Date.now() - 10_000) });
    const future = await seedJob(['h1']);
    const started = await seedJob(['h2'], { startDeadline: new Date(Date.now() - 10_000) });
    await runs.advance(database.pool, [{ runId: started.runIds[0]!, state: 'dispatched', at: new Date() }]);
    const missed = (await runs.queuedPastStartDeadline(new Date())).map((r) => r.id);
    expect(missed).toContain(past.runIds[0]);
    expect(missed).not.toContain(future.runIds[0]);
    expect(missed).not.toContain(started.runIds[0]);
  });

  it('finds taken runs only past their stored end deadline', async () => {
    const deadline = new Date(Date.now() - 20_000);
    const { runIds } = await seedJob(['h1'], { startDeadline: deadline, durationSeconds: 10 });
    await runs.advance(database.pool, [{ runId: runIds[0]!, state: 'running', at: new Date() }]);
    // The end deadline is start deadline + 10 s + 5 s grace: 5 s ago.
    expect((await runs.takenPastEndDeadline(new Date(Date.now() - 10_000))).map((r) => r.id)).not.toContain(runIds[0]);
    expect((await runs.takenPastEndDeadline(new Date())).map((r) => r.id)).toContain(runIds[0]);
  });

  it('stores the limits, overhead and warnings of a summary, keeping earlier ones when a summary has none', async () => {
    const { jobId, runIds } = await seedJob(['h1']);
    const limits = { mapMemoryBytes: 1 << 26, mapMemoryEstimateBytes: 300_000, eventsPerSecond: 10_000, overheadBudgetPercent: 2, overheadWindowMs: 1000, maxEventsPerOutput: 10_000 };
    const overhead = { measured: true, peakCpuPercent: 39.3, meanCpuPercent: 39.2, bpfRunTimeNs: 4e8, bpfRunCount: 2017, windowMs: 1000, samples: 6, budgetExceeded: true };
    const warnings = { first: ['WARNING: could not attach probe kprobe:vfs_open, skipping.'], distinct: 1 };
    expect((await database.snapshot((tx) => runs.listByJob(jobId, tx)))[0]).toMatchObject({ warnings: null });
    await runs.recordSummaries(database.pool, [{ runId: runIds[0]!, counters: { events: 0, lostEvents: 0, droppedEvents: 0, droppedByRate: 0 }, limits, overhead, warnings }]);
    await runs.recordSummaries(database.pool, [{ runId: runIds[0]!, counters: { events: 0, lostEvents: 0, droppedEvents: 0 } }]);
    expect((await database.snapshot((tx) => runs.listByJob(jobId, tx)))[0]).toMatchObject({ limits, overhead, warnings });
  });
});

describe('JobRepository.completeIfFinished', () => {
  it('completes a job only once all its runs have ended', async () => {
    const { jobId, runIds } = await seedJob(['h1', 'h2']);
    await runs.advance(database.pool, [{ runId: runIds[0]!, state: 'succeeded', at: new Date() }]);
    expect(await database.transaction((tx) => jobs.completeIfFinished(tx, [jobId]))).toEqual([]);
    await runs.advance(database.pool, [{ runId: runIds[1]!, state: 'missed', at: new Date() }]);
    expect(await database.transaction((tx) => jobs.completeIfFinished(tx, [jobId]))).toEqual([jobId]);
    expect((await database.snapshot((tx) => jobs.findById(jobId, tx)))?.state).toBe('completed');
  });

  it('completes the job when two transactions end its last two runs at the same time', async () => {
    const { jobId, runIds } = await seedJob(['h1', 'h2']);
    const first = await database.pool.connect();
    const second = await database.pool.connect();
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      await runs.advance(first, [{ runId: runIds[0]!, state: 'succeeded', at: new Date() }]);
      await runs.advance(second, [{ runId: runIds[1]!, state: 'succeeded', at: new Date() }]);
      expect(await jobs.completeIfFinished(first, [jobId])).toEqual([]);
      // Waits on the job row the first transaction locked, then sees what it committed.
      const { rows } = await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const secondDone = jobs.completeIfFinished(second, [jobId]);
      await waitFor('the second transaction to wait for the job row', async () => {
        const { rows: waiting } = await database.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [rows[0]!.pid]);
        return waiting.length > 0;
      });
      await first.query('COMMIT');
      expect(await secondDone).toEqual([jobId]);
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    expect((await database.snapshot((tx) => jobs.findById(jobId, tx)))?.state).toBe('completed');
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
    expect(await database.transaction((tx) => results.insertEvents(tx, [...rows, stranger]))).toBe(3);
    expect(await database.transaction((tx) => results.insertEvents(tx, rows))).toBe(0);
    const firstTwo = await results.eventsOf([runId], 2);
    expect(firstTwo.map((e) => e.ts)).toEqual(['1', '9007199254740992']);
    expect(await results.eventCountsOf([runId])).toEqual([{ runId, output: 'execs', stored: 3 }]);
  });
});

describe('ResultRepository retention', () => {
  const rowsOf = (runId: string, n: number, seq = 0) =>
    Array.from({ length: n }, (_, idx) => ({ runId, seq, idx, output: 'execs', ts: String(idx), data: { idx } }));
  const stored = async (runId: string) =>
    (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM run_events WHERE run_id = $1', [runId])).rows[0]!.n;

  it('deletes in bounded statements the events of runs finished before the retention age, then stores none for them', async () => {
    const [old, recent, running] = [(await seedJob(['h1'])).runIds[0]!, (await seedJob(['h2'])).runIds[0]!, (await seedJob(['h1'])).runIds[0]!];
    for (const runId of [old, recent, running]) await database.transaction((tx) => results.insertEvents(tx, rowsOf(runId, 30)));
    await database.pool.query(`UPDATE runs SET state = 'succeeded' WHERE id = ANY($1)`, [[old, recent]]);
    await database.pool.query(`UPDATE runs SET finished_at = now() - interval '8 days' WHERE id = $1`, [old]);
    await database.pool.query(`UPDATE runs SET finished_at = now() - interval '6 days' WHERE id = $1`, [recent]);

    expect(await results.deleteEventsOf([old], 10)).toBe(10);
    const retention = new RetentionService({ eventsRetentionDays: 7 } as ApiConfig, results);
    expect(await retention.sweep()).toBe(20);
    expect([await stored(old), await stored(recent), await stored(running)]).toEqual([0, 30, 30]);
    expect(await retention.sweep()).toBe(0);
    expect(await database.transaction((tx) => results.insertEvents(tx, rowsOf(old, 5, 1)))).toBe(0);
    expect(await stored(old)).toBe(0);
  });
});

describe('ApiTokenRepository', () => {
  it('finds the bootstrap token by its HMAC, and a new HMAC replaces the old', async () => {
    const tokens = new ApiTokenRepository(database);
    await tokens.upsertBootstrap('admin', 'hmac-1');
    expect(await tokens.findBySecretHmac('hmac-1')).toMatchObject({ id: 'admin', scopes: ['admin'], revokedAt: null });
    await tokens.upsertBootstrap('admin', 'hmac-2');
    expect(await tokens.findBySecretHmac('hmac-1')).toBeUndefined();
    expect(await tokens.findBySecretHmac('hmac-2')).toMatchObject({ id: 'admin' });
  });

  it('revokes once: the first revocation keeps its time and author', async () => {
    const tokens = new ApiTokenRepository(database);
    const id = '0b6f3f55-3b8e-4f0e-9d55-4c1f0e1b2a3c';
    await tokens.insert(database.pool, { id, name: 'ci', scopes: ['jobs:read'], hostSelector: 'tier=web', createdBy: 'admin', createdAt: new Date(), expiresAt: null }, 'hmac-ci');
    expect(await tokens.revoke(database.pool, id, 'admin', new Date(1000))).toBe(true);
    expect(await tokens.revoke(database.pool, id, 'other', new Date(2000))).toBe(false);
    expect(await database.snapshot((tx) => tokens.findById(id, tx))).toMatchObject({ revokedAt: new Date(1000), revokedBy: 'admin', hostSelector: 'tier=web' });
  });
});

describe('DatabaseRepository', () => {
  it('survives PostgreSQL ending a connection held between two queries of a transaction: the transaction fails, the process goes on', async () => {
    let pid = 0;
    let ended = false;
    const outcome = database.transaction(async (tx) => {
      pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // Held between queries, as a transaction waiting on Redis holds its client, while the server ends it.
      await waitFor('the server to end this connection', async () => ended);
      await tx.query('SELECT 1');
    });
    await waitFor('the transaction to hold its connection', async () => pid !== 0);
    const client = (await database.pool.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [pid])).rows[0]!;
    expect(client.done).toBe(true);
    // The server's message reaches the held client as an 'error' event: with no listener, Node ends the process.
    await waitFor('the backend to be gone', async () => (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]!.n === 0);
    ended = true;
    await expect(outcome).rejects.toThrow();
    // And the pool goes on with a connection of its own.
    expect((await database.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });
});
