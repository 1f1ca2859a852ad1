import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JOB_VIEW_RUNS } from '@fleettrace/contracts';
import { freshDatabaseUrl } from '@fleettrace/testing/database';
import { DEFAULT_TIMINGS, type ApiConfig } from '../src/config';
import { DatabaseRepository } from '../src/repositories/database.repository';
import { nodes, plansOf, type PlanNode } from './support/plans';
import { JobViewRepository } from '../src/repositories/job-view.repository';
import { MigrationRepository } from '../src/repositories/migration.repository';
import { RunRepository } from '../src/repositories/run.repository';
import type { TxClient } from '../src/repositories/database.repository';

// The plans of a big job's pages of runs, the job view's first one and GET .../runs's: each walks
// runs_page_by_job in page order and stops at the page's end, never fetching and sorting every run
// of the job. Plans, not timings: they do not depend on how busy the machine is.
const HOSTS = 1000;
const JOBS = 20;

let database: DatabaseRepository;
let jobId: string;

beforeAll(async () => {
  Logger.overrideLogger(false);
  database = new DatabaseRepository({ databaseUrl: freshDatabaseUrl(inject('postgresUrl'), 'run-pages'), ...DEFAULT_TIMINGS } as ApiConfig);
  await new MigrationRepository(database).migrate();
  const db = database.pool;
  await db.query(
    `INSERT INTO hosts (id, name, kernel_release, arch, btf, daemon_version, tools, registered_at, last_heartbeat_at)
     SELECT 'h' || lpad(i::text, 4, '0'), 'h' || i, '6.1', 'x86_64', true, '0.1.0', '{}', now(), now() FROM generate_series(0, $1 - 1) i`,
    [HOSTS],
  );
  const jobIds = Array.from({ length: JOBS }, () => randomUUID());
  await db.query(
    `INSERT INTO jobs (id, program, program_label, params, targets, duration_seconds, state, created_by, created_at)
     SELECT id, 'execsnoop', 'execsnoop', '{}', '{"all":true}', 60, 'running', 'admin', now() FROM unnest($1::uuid[]) id`,
    [jobIds],
  );
  // Two stages, as a staged rollout makes; a few runs failed, as the summary reads them.
  await db.query(
    `INSERT INTO runs (id, job_id, host_id, state, stage, error, queued_at, updated_at, start_deadline)
     SELECT gen_random_uuid(), j, h.id, CASE WHEN h.id LIKE '%7' THEN 'failed' ELSE 'running' END, CASE WHEN h.id < 'h0100' THEN 0 ELSE 1 END,
            CASE WHEN h.id LIKE '%7' THEN 'verifier rejected' END, now(), now(), now() + interval '1 minute'
     FROM unnest($1::uuid[]) j CROSS JOIN hosts h`,
    [jobIds],
  );
  await db.query('ANALYZE');
  jobId = jobIds[7]!;
}, 120_000);

afterAll(async () => {
  await database?.onApplicationShutdown();
});

/**
 * Each Limit over runs: how it reads them ("Index Scan runs_page_by_job", "Seq Scan"...), whether
 * it sorts, and how many scans of hosts it holds (a host looked up per run of the job, not per run
 * of the page; a page filtered by host name has one of its own, the filter's subquery).
 */
function pagesOfRuns(plans: PlanNode[]): Array<{ scans: string[]; sorts: number; hostScans: number }> {
  return plans
    .flatMap(nodes)
    .filter((n) => n['Node Type'] === 'Limit')
    .map((limit) => {
      const below = nodes(limit);
      const scans = below.flatMap((n) => {
        if (n['Node Type'] === 'Bitmap Index Scan' && n['Index Name']?.startsWith('runs_')) return [`Bitmap Index Scan ${n['Index Name']}`];
        if (n['Relation Name'] !== 'runs' || !n['Node Type'].endsWith('Scan')) return [];
        return [n['Index Name'] ? `${n['Node Type']} ${n['Index Name']}` : n['Node Type']];
      });
      return { scans, sorts: below.filter((n) => n['Node Type'] === 'Sort').length, hostScans: below.filter((n) => n['Relation Name'] === 'hosts').length };
    })
    .filter((page) => page.scans.length > 0);
}

/** A new running job with a run on every host, inserted after the fixture's ANALYZE: its id. */
async function runningJobOnEveryHost(): Promise<string> {
  const id = randomUUID();
  await database.pool.query(
    `INSERT INTO jobs (id, program, program_label, params, targets, duration_seconds, state, created_by, created_at)
     VALUES ($1, 'execsnoop', 'execsnoop', '{}', '{"all":true}', 60, 'running', 'admin', now())`,
    [id],
  );
  await database.pool.query(
    `INSERT INTO runs (id, job_id, host_id, state, stage, queued_at, updated_at) SELECT gen_random_uuid(), $1, h.id, 'running', 0, now(), now() FROM hosts h`,
    [id],
  );
  return id;
}

describe(`pages of a job's runs, ${HOSTS} hosts a job`, () => {
  it('holds the rows the plans are about', async () => {
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM runs WHERE job_id = $1', [jobId]);
    expect(rows[0]!.n).toBe(HOSTS);
  });

  it("reads the job view's first page of runs from runs_page_by_job in order, without a sort", async () => {
    const plans = await plansOf(database.pool, () => new JobViewRepository(database).read(jobId, JOB_VIEW_RUNS + 1));
    expect(plans).toHaveLength(1);
    expect(pagesOfRuns(plans)).toEqual([{ scans: ['Index Scan runs_page_by_job'], sorts: 0, hostScans: 0 }]);
  });

  it('reads GET .../runs pages, first, next and by state, from runs_page_by_job in order, without a sort', async () => {
    const runs = new RunRepository(database);
    const after = { stage: 1, hostId: 'h0500', runId: randomUUID() };
    for (const query of [{ limit: 101 }, { limit: 101, after }, { limit: 101, states: ['running' as const] }]) {
      // The pool's query() (which plansOf intercepts) stands in for a transaction's.
      const plans = await plansOf(database.pool, () => runs.pageByJob(jobId, query, database.pool as unknown as TxClient));
      expect(pagesOfRuns(plans), JSON.stringify(query)).toEqual([{ scans: ['Index Scan runs_page_by_job'], sorts: 0, hostScans: 0 }]);
      // The next page starts where the last ended, in the index, not by filtering the job's runs.
      const conditions = plans.flatMap(nodes).flatMap((n) => (n['Index Name'] === 'runs_page_by_job' ? [n['Index Cond'] ?? ''] : []));
      if ('after' in query) expect(conditions.join(' '), JSON.stringify(query)).toMatch(/ROW\(stage, host_id, id\) > ROW\(/);
    }
  });

  it("cuts a new job's page from its runs before joining their hosts, while the planner expects a handful of them", async () => {
    // A job created since the last ANALYZE, as every job is when it is first watched: the planner
    // expects a few of its runs (checked below), and may fetch and sort them all, cheap for runs
    // alone, where a join below the Limit looked up all 1,000 hosts to keep 101. (The view's
    // estimate is an average job's whatever the statistics, as it names the job through j.id.)
    const fresh = await runningJobOnEveryHost();
    const view = await plansOf(database.pool, () => new JobViewRepository(database).read(fresh, JOB_VIEW_RUNS + 1));
    const runs = new RunRepository(database);
    const first = await plansOf(database.pool, () => runs.pageByJob(fresh, { limit: 101 }, database.pool as unknown as TxClient));
    const expected = first.flatMap(nodes).filter((n) => n['Relation Name'] === 'runs').map((n) => n['Plan Rows'] ?? 0);
    expect(Math.max(...expected)).toBeLessThan(10);
    for (const plans of [view, first]) {
      const pages = pagesOfRuns(plans);
      expect(pages).toHaveLength(1);
      expect(pages[0]!.hostScans).toBe(0);
    }
    // The host filter, by id or by name, now reads hosts apart from the join: still the runs it names.
    for (const host of ['h7', 'h0007']) {
      const page = await runs.pageByJob(fresh, { limit: 101, host }, database.pool as unknown as TxClient);
      expect(page.map((r) => [r.hostId, r.hostName]), host).toEqual([['h0007', 'h7']]);
    }
  });
});

describe('the job view read', () => {
  it('answers the same text while the job is unchanged, and another once anything in the view changed', async () => {
    const views = new JobViewRepository(database);
    // A job of its own, so that running this again, or other tests, never see its changes.
    const job = await runningJobOnEveryHost();
    const read = async () => (await views.readText(job, JOB_VIEW_RUNS + 1))!;
    const first = await read();
    expect(views.parse(first).firstRuns).toHaveLength(JOB_VIEW_RUNS + 1);
    expect(await read()).toBe(first);
    // A change in each part of the view: the job, a run of the first page, a run's state counted
    // (a run beyond the first page), the timeline, and the name of a host on the first page.
    const mark = randomUUID();
    const changes: Array<[string, unknown[]]> = [
      [`UPDATE jobs SET cancel_reason = $2 WHERE id = $1`, [job, mark]],
      [`UPDATE runs SET error = $2 WHERE job_id = $1 AND host_id = 'h0000'`, [job, mark]],
      [`UPDATE runs SET state = 'succeeded' WHERE job_id = $1 AND host_id = 'h0999'`, [job]],
      [`INSERT INTO job_events (job_id, at, kind, message, detail) VALUES ($1, now(), 'note', $2, '{}')`, [job, mark]],
      [`UPDATE hosts SET name = $1 WHERE id = 'h0001'`, [`h1-${mark}`]],
    ];
    let before = first;
    try {
      for (const [change, values] of changes) {
        await database.pool.query(change, values);
        const after = await read();
        expect(after, change).not.toBe(before);
        expect(await read(), change).toBe(after);
        before = after;
      }
    } finally {
      await database.pool.query(`UPDATE hosts SET name = 'h1' WHERE id = 'h0001'`);
    }
    const view = views.parse(before);
    expect(view.job.cancelReason).toBe(mark);
    expect(view.firstRuns[0]!.error).toBe(mark);
    expect(view.firstRuns[1]!.hostName).toBe(`h1-${mark}`);
    expect(view.runStates.get('succeeded')).toBe(1);
    expect(view.events.at(-1)!.message).toBe(mark);
  });
});
