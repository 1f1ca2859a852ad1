import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabaseUrl } from '@fleettrace/testing/database';
import { DEFAULT_TIMINGS, type ApiConfig } from '../src/config';
import { DatabaseRepository } from '../src/repositories/database.repository';
import { nodes, plansOf, type PlanNode } from './support/plans';
import { MigrationRepository } from '../src/repositories/migration.repository';
import { ResultRepository } from '../src/repositories/result.repository';

// The plans the event reads get on a table of a million rows: each must walk an index, never
// the table. Plans, not timings: they do not depend on how busy the machine is.
const HOSTS = 20;
const JOBS = 10;
const EVENTS_PER_RUN = 5000;

let database: DatabaseRepository;
let results: ResultRepository;
let jobId: string;
let runIds: string[];

beforeAll(async () => {
  Logger.overrideLogger(false);
  database = new DatabaseRepository({ databaseUrl: freshDatabaseUrl(inject('postgresUrl'), 'indexes'), ...DEFAULT_TIMINGS } as ApiConfig);
  await new MigrationRepository(database).migrate();
  results = new ResultRepository(database);
  const db = database.pool;
  await db.query(
    `INSERT INTO hosts (id, name, kernel_release, arch, btf, daemon_version, tools, registered_at, last_heartbeat_at)
     SELECT 'h' || lpad(i::text, 2, '0'), 'h' || i, '6.1', 'x86_64', true, '0.1.0', '{}', now(), now() FROM generate_series(0, $1 - 1) i`,
    [HOSTS],
  );
  const jobIds = Array.from({ length: JOBS }, () => randomUUID());
  await db.query(
    `INSERT INTO jobs (id, program, program_label, params, targets, duration_seconds, state, created_by, created_at)
     SELECT id, 'execsnoop', 'execsnoop', '{}', '{"all":true}', 60, 'completed', 'admin', now() FROM unnest($1::uuid[]) id`,
    [jobIds],
  );
  await db.query(
    `INSERT INTO runs (id, job_id, host_id, state, queued_at, updated_at)
     SELECT gen_random_uuid(), j, h.id, 'running', now(), now() FROM unnest($1::uuid[]) j CROSS JOIN hosts h`,
    [jobIds],
  );
  // In the order ingest stores them: by time, every host's interleaved. comm has 97 values, filename 1009.
  await db.query(
    `INSERT INTO run_events (run_id, job_id, host_id, seq, idx, output, ts, data)
     SELECT r.id, r.job_id, r.host_id, g / 500, g % 500, 'execs', 1700000000000000000 + g::bigint * 1000 + (hashtext(r.id::text) & 1023),
            jsonb_build_object('comm', 'comm' || (g % 97), 'pid', g, 'filename', '/usr/bin/tool' || (g % 1009))
     FROM runs r CROSS JOIN generate_series(0, $1 - 1) g ORDER BY g, r.id`,
    [EVENTS_PER_RUN],
  );
  await db.query('ANALYZE');
  jobId = jobIds[3]!;
  runIds = (await db.query<{ id: string }>('SELECT id FROM runs WHERE job_id = $1 ORDER BY host_id', [jobId])).rows.map((r) => r.id);
}, 300_000);

afterAll(async () => {
  await database?.onApplicationShutdown();
});

/** How each plan reads run_events: "Seq Scan", or the scan type and the index it walks. */
function eventScans(plans: PlanNode[]): string[] {
  return plans.flatMap(nodes).flatMap((n) => {
    const index = n['Index Name'];
    if (n['Node Type'] === 'Bitmap Index Scan') return index?.startsWith('run_events_') ? [`Bitmap Index Scan ${index}`] : [];
    if (n['Relation Name'] !== 'run_events' || !n['Node Type'].endsWith('Scan')) return [];
    return [index ? `${n['Node Type']} ${index}` : n['Node Type']];
  });
}

function sorts(plans: PlanNode[]): number {
  return plans.flatMap(nodes).filter((n) => n['Node Type'] === 'Sort').length;
}

/** The indexes of run_events the plans walk, once it is checked that they never scan the table whole. */
function indexesRead(plans: PlanNode[]): Set<string> {
  const scans = eventScans(plans);
  expect(scans).not.toContain('Seq Scan');
  return new Set(scans.flatMap((scan) => scan.match(/ (run_events_\w+)$/)?.[1] ?? []));
}

const cursor = { ts: '1700000000002500000', host: 'h07', seq: 5, idx: 0 };

describe('event reads on a million rows', () => {
  it('holds the rows the plans are about', async () => {
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM run_events');
    expect(rows[0]!.n).toBe(HOSTS * JOBS * EVENTS_PER_RUN);
  });

  it("walks run_events_by_job in order for a job's pages, first and next", async () => {
    for (const query of [
      { output: 'execs', limit: 100 },
      { output: 'execs', limit: 100, after: cursor },
    ]) {
      const plans = await plansOf(database.pool, () => results.eventsPage(jobId, query));
      expect(eventScans(plans), JSON.stringify(query)).toEqual(['Index Scan run_events_by_job']);
      expect(sorts(plans)).toBe(0);
    }
  });

  it("reads a filtered page of a job through run_events_by_job, whatever the filter", async () => {
    for (const query of [
      { output: 'execs', limit: 100, after: cursor, field: { name: 'comm', equals: 'comm13' } },
      { output: 'execs', limit: 100, field: { name: 'comm', equals: 'never-seen' } },
      { output: 'execs', limit: 100, contains: { text: 'tool42', field: 'filename' } },
      { output: 'execs', limit: 100, after: cursor, contains: { text: 'tool42' } },
    ]) {
      expect(indexesRead(await plansOf(database.pool, () => results.eventsPage(jobId, query))), JSON.stringify(query)).toEqual(new Set(['run_events_by_job']));
    }
  });

  it("reads one host's pages from its run in run_events_by_run", async () => {
    for (const query of [
      { output: 'execs', limit: 100, host: 'h07' },
      { output: 'execs', limit: 100, host: 'h07', after: cursor, field: { name: 'comm', equals: 'comm13' } },
    ]) {
      expect(indexesRead(await plansOf(database.pool, () => results.eventsPage(jobId, query))), JSON.stringify(query)).toEqual(new Set(['run_events_by_run']));
    }
  });

  it("reads each run's first records per output from run_events_by_run, and counts them through an index", async () => {
    expect(indexesRead(await plansOf(database.pool, () => results.eventsOf(runIds, 10)))).toEqual(new Set(['run_events_by_run']));
    expect(indexesRead(await plansOf(database.pool, () => results.eventCountsOf(runIds))).size).toBe(1);
  });

  it("finds a retention delete's rows by run through an index, and deletes them by tuple id", async () => {
    const plans = await plansOf(database.pool, () => results.deleteEventsOf(runIds.slice(0, 2), 10_000));
    expect(eventScans(plans)).toContain('Tid Scan');
    expect([...indexesRead(plans)]).toEqual([expect.stringMatching(/^run_events_(pkey|by_run)$/)]);
  });
});
