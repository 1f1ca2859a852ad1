import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { resultsDeadLetterKey, resultsStreamKey, type HostInfo, type JobView } from '@fleettrace/contracts';
import { freePort, startApi, stopPid, waitFor, type RunningApi } from '@fleettrace/infra/stack';
import { freshDatabaseUrl, freshRedisPrefix } from '../support/database';
import { anyJson, hostileNumber, hostileString } from './arbitraries';

/**
 * 10,000 malformed or hostile results messages in the stream, good ones among them: ingest never
 * stalls behind a bad one, and every good one is stored, once.
 */
const HOSTILE = 10_000;
const GOOD_EVERY = 20;
const SEED = 1204;

let api: RunningApi;
let redis: Redis;
let prefix: string;

const host: HostInfo = {
  id: 'fz-ingest',
  name: 'fz-ingest',
  labels: {},
  kernelRelease: '6.18.0',
  arch: 'x64',
  btf: true,
  daemonVersion: '0.1.0',
  cgroup: null,
  tools: { clang: true, bpftrace: true },
};

beforeAll(async () => {
  prefix = freshRedisPrefix('fuzz-ingest');
  api = await startApi({
    databaseUrl: freshDatabaseUrl(inject('postgresUrl'), 'fuzz_ingest'),
    redisUrl: inject('redisUrl'),
    redisPrefix: prefix,
    token: 'fuzz-ingest-token-0123',
    port: await freePort(),
    logFile: join(mkdtempSync(join(tmpdir(), 'fleettrace-fuzz-ingest-')), 'api.log'),
  });
  redis = new Redis(inject('redisUrl'));
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  if (api) await stopPid(api.pid);
});

function hostileMessages(runId: string): fc.Arbitrary<string> {
  const record = fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), hostileString.filter((s) => s.length < 100)), fc.oneof(hostileString.filter((s) => s.length < 5000), hostileNumber, anyJson), { maxKeys: 5 });
  const someRun = fc.oneof(fc.constant(runId), fc.uuid(), hostileString.filter((s) => s.length < 100));
  const message = fc.oneof(
    fc.record({ type: fc.constant('events'), runId: someRun, seq: fc.oneof(fc.nat(), hostileNumber), output: fc.oneof(fc.constant('execs'), hostileString.filter((s) => s.length < 500)), timeField: fc.constant('t'), records: fc.array(record, { maxLength: 20 }) }),
    fc.record({ type: fc.constant('state'), runId: someRun, at: hostileNumber, state: fc.oneof(fc.constantFrom('running', 'succeeded', 'sleeping'), hostileString.filter((s) => s.length < 100)) }),
    fc.record({
      type: fc.constant('summary'),
      runId: someRun,
      at: fc.oneof(fc.constant(Date.now()), hostileNumber),
      state: fc.constantFrom('succeeded', 'failed', 'nope'),
      outputs: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('stacks'), name: fc.constant('s'), unit: fc.constant('samples'), entries: fc.array(fc.record({ stack: fc.oneof(fc.constant('a;b'), hostileString.filter((s) => s.length < 1000)), value: hostileNumber }), { maxLength: 4 }), unsymbolized: hostileNumber, lost: hostileNumber }),
          fc.record({ kind: fc.constant('hist'), name: fc.constant('h'), unit: fc.constant('us'), buckets: fc.array(fc.record({ low: hostileNumber, high: hostileNumber, count: hostileNumber }), { maxLength: 4 }) }),
          anyJson,
        ),
        { maxLength: 3 },
      ),
      events: fc.constant([]),
      counters: fc.record({ events: hostileNumber, lostEvents: hostileNumber, droppedEvents: hostileNumber }),
    }),
    fc.record({ type: fc.constant('snapshot'), runId: someRun, at: hostileNumber, seq: hostileNumber, outputs: fc.array(anyJson, { maxLength: 3 }) }),
    fc.record({ type: fc.constant('host'), at: hostileNumber, host: fc.oneof(anyJson, fc.record({ id: hostileString.filter((s) => s.length < 200), name: hostileString.filter((s) => s.length < 200) })) }),
    anyJson,
  );
  return fc.oneof({ weight: 9, arbitrary: message.map((m) => JSON.stringify(m)) }, { weight: 1, arbitrary: hostileString });
}

it('10,000 hostile results messages: ingest never stalls, and every good message beside them is stored once', async () => {
  await redis.xadd(resultsStreamKey(prefix, 'fz-ingest'), '*', 'm', JSON.stringify({ type: 'host', at: Date.now(), host }));
  await waitFor('the host to register', async () => (await api.client.request('GET', '/v1/hosts/fz-ingest')).status === 200);
  const created = await api.client.request<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 600, targets: { hosts: ['fz-ingest'] } });
  expect(created.status).toBe(201);
  const runId = created.body.runs[0]!.id;
  // The hostile messages name another run of the same host: a well-formed summary among them ends
  // the run it names, and a run that ended takes no more reports (its outputs are frozen), so the
  // good events go to a run no hostile message can end.
  const decoy = await api.client.request<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 600, targets: { hosts: ['fz-ingest'] } });
  expect(decoy.status).toBe(201);
  const hostile = fc.sample(hostileMessages(decoy.body.runs[0]!.id), { numRuns: HOSTILE, seed: SEED });
  let good = 0;
  let seq = 1_000_000;
  const pipeline = redis.pipeline();
  for (const [i, text] of hostile.entries()) {
    // An entry without the `m` field now and then, as a stranger writing to the stream would.
    if (i % 997 === 0) pipeline.xadd(resultsStreamKey(prefix, 'fz-ingest'), '*', 'x', text);
    else pipeline.xadd(resultsStreamKey(prefix, 'fz-ingest'), '*', 'm', text);
    if (i % GOOD_EVERY === 0) {
      good++;
      pipeline.xadd(resultsStreamKey(prefix, 'fz-ingest'), '*', 'm', JSON.stringify({ type: 'events', runId, seq: seq++, output: 'good', timeField: 't', records: [{ t: Date.now() * 1e6, marker: `good-${good}` }] }));
    }
  }
  await pipeline.exec();
  let stored = 0;
  await waitFor(
    `all ${good} good events stored`,
    async () => {
      const page = await api.client.get<{ items: unknown[] }>(`/v1/jobs/${created.body.id}/events?output=good&limit=5000`);
      stored = page.items.length;
      return stored >= good;
    },
    240_000,
    500,
  );
  expect(stored).toBe(good);
  // And it still goes on: one more good message after all of them is stored too.
  await redis.xadd(resultsStreamKey(prefix, 'fz-ingest'), '*', 'm', JSON.stringify({ type: 'events', runId, seq: seq++, output: 'good', timeField: 't', records: [{ t: Date.now() * 1e6, marker: 'last' }] }));
  await waitFor('the last good event', async () => (await api.client.get<{ items: unknown[] }>(`/v1/jobs/${created.body.id}/events?output=good&limit=5000`)).items.length === good + 1, 60_000);
  const dead = await redis.xlen(resultsDeadLetterKey(prefix));
  console.log(`ingest fuzz: ${good} good stored, ${dead} dead-lettered`);
  expect(dead).toBeGreaterThan(0);
}, 600_000);
