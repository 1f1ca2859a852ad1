import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INGEST_CONSUMER_GROUP, resultsDeadLetterKey, resultsStreamKey, type JobView, type ResultMessage } from '@fleettrace/contracts';
import { createDatabase, freePort, startPostgres, stopPostgres, type RunningPostgres } from '@fleettrace/infra/stack';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { countRows } from './support/db';

// A PostgreSQL of its own, which this test stops and starts again: the shared one must stay up.
let baseDir: string;
let port: number;
let pg: RunningPostgres | undefined;
let t: TestApi;

beforeAll(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'fleettrace-outage-'));
  // mkdtemp makes it 0700; the postgres user must be able to reach its own directory inside.
  chmodSync(baseDir, 0o755);
  port = await freePort();
  pg = await startPostgres({ baseDir: join(baseDir, 'pg'), port, durable: false });
  t = await startApi('outage', { databaseUrl: createDatabase(pg.url, 'ft_outage') });
  await registerHosts(t, [hostInfo('node-a')]);
});

afterAll(async () => {
  await t?.close();
  if (pg) await stopPostgres(pg.pid);
  rmSync(baseDir, { recursive: true, force: true });
});

function eventsBatch(runId: string, seq: number): ResultMessage {
  return { type: 'events', runId, seq, output: 'execs', timeField: 'time_ns', records: [{ time_ns: seq, comm: 'bash' }] };
}

/** How many times each pending entry was delivered. */
async function deliveries(): Promise<number[]> {
  const pending = (await t.redis.xpending(resultsStreamKey(t.config.redisPrefix, 'node-a'), INGEST_CONSUMER_GROUP, '-', '+', 100)) as Array<[string, string, number, number]>;
  return pending.map(([, , , delivered]) => Number(delivered));
}

async function pendingCount(): Promise<number> {
  const summary = (await t.redis.xpending(resultsStreamKey(t.config.redisPrefix, 'node-a'), INGEST_CONSUMER_GROUP)) as unknown[];
  return Number(summary[0]);
}

it('keeps reports pending while PostgreSQL is down and stores them when it is back, dead-lettering none', async () => {
  const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 5, targets: { hostIds: ['node-a'] } } });
  const runId = job.runs[0].id;
  await t.report(eventsBatch(runId, 0));
  await waitFor('the first batch stored', async () => (await countRows(t.config.databaseUrl, 'run_events', runId)) === 1);

  await stopPostgres(pg!.pid);
  pg = undefined;
  // Named: the test's report() cannot ask the database which host the run is on now.
  for (const seq of [1, 2, 3]) await t.report(eventsBatch(runId, seq), 'node-a');
  await t.report({ type: 'state', runId, at: Date.now(), state: 'running' }, 'node-a');
  // Ingest took them, could not store them, and took them again: pending, not dead-lettered.
  await waitFor('a report delivered twice', async () => (await deliveries()).some((n) => n >= 2));
  expect(await t.redis.xlen(resultsDeadLetterKey(t.config.redisPrefix))).toBe(0);

  pg = await startPostgres({ baseDir: join(baseDir, 'pg'), port, durable: false });
  // The state was reported last: once it is applied, everything before it is stored.
  await waitFor('the run to be running', async () => (await t.request<JobView>('GET', `/v1/jobs/${job.id}`)).body.runs?.[0]?.state === 'running', 45_000);
  expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(4);
  await waitFor('every report acked', async () => (await pendingCount()) === 0);
  expect(await t.redis.xlen(resultsDeadLetterKey(t.config.redisPrefix))).toBe(0);
});
