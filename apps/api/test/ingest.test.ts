import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  INGEST_CONSUMER_GROUP,
  resultsDeadLetterKey,
  resultsStreamKey,
  type AuditEntryView,
  type AuditPage,
  type HostView,
  type JobView,
  type ResultMessage,
  type RunState,
} from '@fleettrace/contracts';
import { UNNAMED_TEST_HOST, hostInfo, startApi, waitFor, type TestApi } from './support/api';
import { countRows, withDb } from './support/db';
import { INGEST_BATCH_SIZE, IngestService, readPaceMs } from '../src/services/ingest.service';
import { ResultsStreamRepository } from '../src/repositories/results-stream.repository';

// The HTTP role only: no ingest loop runs on its own, so each test decides when entries are processed.
let t: TestApi;
let ingest: IngestService;
let stream: ResultsStreamRepository;
const consumer = () => t.config.ingestConsumer;

beforeAll(async () => {
  t = await startApi('ingest', { roles: new Set(['http']) });
  ingest = t.api.app.get(IngestService);
  stream = t.api.app.get(ResultsStreamRepository);
  await deliver([{ type: 'host', at: Date.now(), host: hostInfo('node-a') }, { type: 'host', at: Date.now(), host: hostInfo('node-b') }]);
});

afterAll(async () => {
  await ingest?.stop();
  await t?.close();
});

/** XADDs the messages like a daemon (of `hostId`, else the host each names) and processes exactly those entries as one batch. */
async function deliver(messages: Array<ResultMessage | string>, hostId?: string): Promise<void> {
  for (const message of messages) await t.report(message, hostId);
  const entries = await stream.read(consumer(), await streams(), { from: 'new', count: 500, blockMs: 100 });
  expect(entries).toHaveLength(messages.length);
  await ingest.processBatch(entries);
}

const streamKey = (hostId = 'node-a') => resultsStreamKey(t.config.redisPrefix, hostId);
/** Every results stream, each with the ingest group (as the ingest loop lists them). */
const streams = () => ingest.refreshStreams([]);

/** The dead-letter stream's entries, each as its fields. */
async function deadLetters(): Promise<Array<Record<string, string>>> {
  const entries = (await t.redis.xrange(resultsDeadLetterKey(t.config.redisPrefix), '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, fields]) => Object.fromEntries(fields.flatMap((_, i) => (i % 2 === 0 ? [[fields[i], fields[i + 1]]] : []))));
}

/** Runs the ingest loop (the worker role's) while `work` runs. */
async function withIngestLoop(work: () => Promise<void>): Promise<void> {
  ingest.start();
  try {
    await work();
  } finally {
    await ingest.stop();
  }
}

/** Entries delivered and not yet acked, over every results stream (of the shared API, or of `api`'s). */
async function pendingCount(api: { stream: ResultsStreamRepository; redis: TestApi['redis'] } = { stream, redis: t.redis }): Promise<number> {
  let pending = 0;
  for (const key of await api.stream.discover()) pending += Number(((await api.redis.xpending(key, INGEST_CONSUMER_GROUP)) as unknown[])[0]);
  return pending;
}

async function createJob(hostIds: string[]): Promise<JobView> {
  const { status, body } = await t.request<JobView>('POST', '/v1/jobs', {
    body: { program: 'execsnoop', durationSeconds: 5, targets: { hostIds } },
  });
  expect(status).toBe(201);
  return body;
}

const getJob = async (id: string) => (await t.request<JobView>('GET', `/v1/jobs/${id}`)).body;

function eventsBatch(runId: string, seq: number, times: number[]): ResultMessage {
  return {
    type: 'events',
    runId,
    seq,
    output: 'execs',
    timeField: 'time_ns',
    records: times.map((time_ns, i) => ({ time_ns, pid: 100 + i, comm: 'bash' })),
  };
}

function summary(runId: string, state: 'succeeded' | 'failed' = 'succeeded'): ResultMessage {
  return {
    type: 'summary',
    runId,
    at: Date.now(),
    state,
    outputs: [{ kind: 'hist', name: 'latency', unit: 'us', buckets: [{ low: 1, high: 2, count: 3 }] }],
    events: [{ kind: 'events', name: 'execs', received: 5, dropped: 0 }],
    counters: { events: 5, lostEvents: 0, droppedEvents: 0 },
  };
}

describe('ingest', () => {
  it('registers hosts, keeping the first registration time', async () => {
    const hosts = await t.request<Array<{ id: string; registeredAt: string; lastHeartbeatAt: string }>>('GET', '/v1/hosts');
    expect(hosts.body.map((h) => h.id)).toEqual(['node-a', 'node-b']);
    const registeredAt = hosts.body[0].registeredAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await deliver([{ type: 'host', at: Date.now(), host: { ...hostInfo('node-a'), labels: { rack: '7' } } }]);
    const again = (await t.request<HostView[]>('GET', '/v1/hosts')).body[0];
    expect(again.registeredAt).toBe(registeredAt);
    expect(Date.parse(again.lastHeartbeatAt)).toBeGreaterThan(Date.parse(hosts.body[0].lastHeartbeatAt));
    expect(again.labels).toEqual({ rack: '7' });
  });

  it('stores events and a summary once, however often they are delivered', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    const messages: ResultMessage[] = [
      { type: 'state', runId, at: Date.now(), state: 'running' },
      eventsBatch(runId, 0, [30, 10, 20]),
      eventsBatch(runId, 1, [50, 40]),
      summary(runId),
    ];
    await deliver(messages);
    await deliver(messages);
    await deliver([messages[2], messages[3]]);

    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(5);
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(1);
    expect(await countRows(t.config.databaseUrl, 'run_event_summaries', runId)).toBe(1);
    const after = await getJob(job.id);
    expect(after.state).toBe('completed');
    expect(after.runs[0]).toMatchObject({ state: 'succeeded', counters: { events: 5, lostEvents: 0, droppedEvents: 0 } });
    expect(after.runs[0].startedAt).not.toBeNull();
    expect(after.runs[0].finishedAt).not.toBeNull();
    expect(await pendingCount()).toBe(0);
  });

  it('ends a run budget_exceeded and returns its limits, overhead, warnings and drop counters in the run view', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    expect(job.runs[0]).toMatchObject({ limits: null, overhead: null, warnings: null });
    const limits = { mapMemoryBytes: 67_108_864, mapMemoryEstimateBytes: 2_670_592, eventsPerSecond: 10_000, overheadBudgetPercent: 2, overheadWindowMs: 1000, maxEventsPerOutput: 10_000 };
    const overhead = { measured: true, peakCpuPercent: 39.318, meanCpuPercent: 39.295, bpfRunTimeNs: 398_559_202, bpfRunCount: 2017, windowMs: 1000, samples: 6, budgetExceeded: true };
    const error = "BPF programs used 39.318 % of one CPU over 1 s, over the run's overhead budget of 2 %; the runner detached after 1.0 s";
    const warnings = { first: ['stdin:1:37: WARNING: Failed to map_update_elem: E2BIG (-7)'], distinct: 1 };
    await deliver([
      { type: 'state', runId, at: Date.now(), state: 'running' },
      { ...(summary(runId) as Extract<ResultMessage, { type: 'summary' }>), state: 'budget_exceeded', error, counters: { events: 5, lostEvents: 0, droppedEvents: 0, droppedByRate: 12 }, limits, overhead, warnings },
      // A late duplicate of an earlier state never undoes the terminal one.
      { type: 'state', runId, at: Date.now(), state: 'draining' },
    ]);
    const after = await getJob(job.id);
    expect(after.state).toBe('completed');
    expect(after.runs[0]).toMatchObject({ state: 'budget_exceeded', error, limits, overhead, warnings, counters: { droppedByRate: 12 } });
    expect(after.runs[0].finishedAt).not.toBeNull();
  });

  it('redelivers a batch that crashed between commit and ack, harmlessly', async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    await t.report(eventsBatch(runId, 0, [1, 2, 3]));
    await t.report(summary(runId));
    const entries = await stream.read(consumer(), await streams(), { from: 'new', count: 500, blockMs: 100 });

    const ack = stream.ack.bind(stream);
    stream.ack = async () => {
      throw new Error('process died before XACK');
    };
    try {
      await expect(ingest.processBatch(entries)).rejects.toThrow('process died before XACK');
    } finally {
      stream.ack = ack;
    }
    // Committed but never acked: still pending for this consumer.
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(3);
    expect(await pendingCount()).toBe(2);

    // A restarted consumer reads its pending entries first.
    ingest.start();
    await waitFor('the pending entries to be acked', async () => (await pendingCount()) === 0);
    await ingest.stop();
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(3);
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(1);
    expect((await getJob(job.id)).runs[0].state).toBe('succeeded');
  });

  it('never moves a run backwards, whatever order states arrive in', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    const state = (s: RunState, error?: string): ResultMessage => ({
      type: 'state',
      runId,
      at: Date.now(),
      state: s,
      error,
    });
    await deliver([state('running')]);
    await deliver([state('dispatched'), state('compiling')]);
    let run = (await getJob(job.id)).runs[0];
    expect(run.state).toBe('running');
    expect(run.startedAt).not.toBeNull();

    await deliver([state('failed', 'verifier said no')]);
    await deliver([state('running'), state('succeeded'), summary(runId, 'succeeded')]);
    run = (await getJob(job.id)).runs[0];
    expect(run.state).toBe('failed');
    expect(run.error).toBe('verifier said no');
    // A terminal run's outputs are frozen: the late summary is ignored, outputs and all.
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(0);
  });

  it('acks malformed entries without letting them block the good ones', async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    const unknownRun = '5d3b1c6e-9a0e-4c4e-8d0e-2f1f7c9b1a11';
    await t.redis.xadd(streamKey(UNNAMED_TEST_HOST), '*', 'x', 'no m field');
    for (const message of [
      'not json',
      JSON.stringify({ type: 'bogus' }),
      JSON.stringify({ type: 'state', runId: 'not-a-uuid', at: 1, state: 'running' }),
      JSON.stringify({ type: 'events', runId, seq: 0, output: 'execs', timeField: 'time_ns', records: [{ comm: 'a\u0000b', time_ns: 1 }] }),
      JSON.stringify({ type: 'state', runId, at: Date.now(), state: 'dispatched' }),
      // Runs nobody knows about are ignored rather than failing the batch.
      JSON.stringify({ type: 'state', runId: unknownRun, at: Date.now(), state: 'running' }),
      JSON.stringify(eventsBatch(unknownRun, 0, [1])),
    ]) {
      await t.report(message, 'node-b');
    }
    const entries = await stream.read(consumer(), await streams(), { from: 'new', count: 500, blockMs: 100 });
    expect(entries).toHaveLength(8);
    await ingest.processBatch(entries);

    expect(await pendingCount()).toBe(0);
    expect((await getJob(job.id)).runs[0].state).toBe('dispatched');
    const stored = await withDb(t.config.databaseUrl, (db) => db.query('SELECT data FROM run_events WHERE run_id = $1', [runId]));
    expect(stored.rows).toEqual([{ data: { comm: 'ab', time_ns: 1 } }]);
  });

  it('refuses a summary naming one output twice, and fails its run saying so', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    // Storage keys outputs by (run, name): a second "h" would make the upsert touch a row twice.
    await t.report(JSON.stringify({ ...(summary(runId) as object), outputs: [{ kind: 'hist', name: 'h', unit: 'us', buckets: [] }, { kind: 'hist', name: 'h', unit: 'ns', buckets: [] }] }), 'node-a');
    await ingest.processBatch(await stream.read(consumer(), await streams(), { from: 'new', count: 500, blockMs: 100 }));
    expect(await pendingCount()).toBe(0);
    const run = (await getJob(job.id)).runs[0];
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/output name "h" appears more than once/);
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(0);
  });

  it('dead-letters a report it cannot store, fails its run there, stores the rest and goes on with later jobs', async () => {
    const [first, second] = [await createJob(['node-a']), await createJob(['node-b'])];
    const [runA, runB] = [first.runs[0].id, second.runs[0].id];
    const deadBefore = (await deadLetters()).length;
    // jsonb refuses a lone surrogate (issue 14): cleaned at parse time, the record is kept.
    const surrogate = JSON.stringify(eventsBatch(runA, 0, [10])).replace('"bash"', '"\\ud800x"');
    const overInt8 = { ...(summary(runA) as Extract<ResultMessage, { type: 'summary' }>) };
    overInt8.outputs = [{ kind: 'stacks', name: 'samples', unit: 'samples', entries: [{ stack: 'app;main', value: 1e20 }], unsymbolized: 0, lost: 0 }];
    // Only the database can tell this one: an output name too large for an index entry.
    const tooLongOutput = { ...(eventsBatch(runB, 1, [20]) as Extract<ResultMessage, { type: 'events' }>), output: randomBytes(4500).toString('base64') };

    await withIngestLoop(async () => {
      const ids: string[] = [];
      for (const message of [
        { type: 'state', runId: runA, at: Date.now(), state: 'running' } as ResultMessage,
        surrogate,
        eventsBatch(runA, 1, [11, 12]),
        overInt8,
        eventsBatch(runB, 0, [20, 21, 22]),
        tooLongOutput,
        eventsBatch(runB, 2, [23]),
      ]) {
        ids.push(await t.report(message, message === surrogate ? 'node-a' : undefined));
      }
      // A job started after the bad reports runs as usual.
      const later = await createJob(['node-a']);
      await t.report({ type: 'state', runId: later.runs[0].id, at: Date.now(), state: 'dispatched' });
      await waitFor('the later job\'s run to be dispatched', async () => (await getJob(later.id)).runs[0].state === 'dispatched');

      const letters = (await deadLetters()).slice(deadBefore);
      expect(letters.map((l) => l.id)).toEqual([ids[3], ids[5]]);
      expect(letters[0]).toEqual({ id: ids[3], stream: streamKey('node-a'), reason: 'outputs.0.entries.0.value 100000000000000000000 is outside the int8 range', m: JSON.stringify(overInt8) });
      expect(letters[1]!.reason).toMatch(/^index row (size \d+ exceeds btree version 4 maximum 2704|requires \d+ bytes)/);
      expect(letters[1]!.m).toBe(JSON.stringify(tooLongOutput));
    });

    const [a, b] = [(await getJob(first.id)).runs[0], (await getJob(second.id)).runs[0]];
    expect(a).toMatchObject({ state: 'failed', error: 'a report from host node-a could not be stored: outputs.0.entries.0.value 100000000000000000000 is outside the int8 range' });
    expect(b.state).toBe('failed');
    expect(b.error).toMatch(/^a report from host node-b could not be stored: index row /);
    const stored = await withDb(t.config.databaseUrl, (db) =>
      db.query<{ run_id: string; seq: number; comm: string }>(`SELECT run_id, seq, data->>'comm' AS comm FROM run_events WHERE run_id = ANY($1) ORDER BY run_id = $2 DESC, seq, idx`, [[runA, runB], runA]),
    );
    // Run B failed at its unstorable report: its batch 2, sent after it, is frozen out whether one
    // read brought both or two did.
    expect(stored.rows.map((r) => [r.run_id === runA ? 'a' : 'b', r.seq, r.comm])).toEqual([
      ['a', 0, '\ufffdx'],
      ['a', 1, 'bash'],
      ['a', 1, 'bash'],
      ['b', 0, 'bash'],
      ['b', 0, 'bash'],
      ['b', 0, 'bash'],
    ]);
    expect(await pendingCount()).toBe(0);
  });

  it('creates its consumer group again when Redis loses it, and stores what comes after exactly once', async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    await withIngestLoop(async () => {
      await t.report(eventsBatch(runId, 0, [1, 2]));
      await waitFor('the first batch stored', async () => (await countRows(t.config.databaseUrl, 'run_events', runId)) === 2);
      await t.redis.xgroup('DESTROY', streamKey('node-b'), INGEST_CONSUMER_GROUP);
      await t.report(eventsBatch(runId, 1, [3, 4, 5]));
      await t.report({ type: 'state', runId, at: Date.now(), state: 'running' });
      await waitFor('the run to be running', async () => (await getJob(job.id)).runs[0].state === 'running');
    });
    // The new group read the stream from its start: the first batch again, stored once all the same.
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(5);
    expect(await pendingCount()).toBe(0);
  });

  it('trims the stream up to its oldest pending entry, and no further', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    for (let seq = 0; seq < 5; seq++) await t.report(eventsBatch(runId, seq, [seq]));
    const delivered = await stream.read(consumer(), await streams(), { from: 'new', count: 500, blockMs: 100 });
    expect(delivered).toHaveLength(5);
    await ingest.processBatch(delivered.slice(0, 2));
    const undelivered = [await t.report(eventsBatch(runId, 5, [5])), await t.report(eventsBatch(runId, 6, [6]))];

    expect(await ingest.trimStreams([streamKey()])).toBeGreaterThanOrEqual(2);
    const kept = ((await t.redis.xrange(streamKey(), '-', '+')) as Array<[string, string[]]>).map(([id]) => id);
    expect(kept).toEqual([...delivered.slice(2).map((e) => e.id), ...undelivered]);

    await ingest.processBatch(delivered.slice(2));
    await ingest.trimStreams([streamKey()]);
    const rest = ((await t.redis.xrange(streamKey(), '-', '+')) as Array<[string, string[]]>).map(([id]) => id);
    // The last delivered entry marks where the group is; the undelivered ones wait for it.
    expect(rest).toEqual([delivered[4]!.id, ...undelivered]);
    await deliverPending();
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(7);
  });

  it('trims the stream while it runs, so it does not grow with what was stored', async () => {
    const own = await startApi('ingest-trim', { roles: new Set(['http']), streamTrimIntervalMs: 100 });
    const ownIngest = own.api.app.get(IngestService);
    try {
      await own.report({ type: 'host', at: Date.now(), host: hostInfo('node-a') });
      ownIngest.start();
      await waitFor('the host registered', async () => (await own.request<HostView[]>('GET', '/v1/hosts')).body.length === 1);
      const { body: job } = await own.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 5, targets: { hostIds: ['node-a'] } } });
      const runId = job.runs[0].id;
      for (let seq = 0; seq < 50; seq++) await own.report(eventsBatch(runId, seq, [seq]));
      await waitFor('every batch stored', async () => (await countRows(own.config.databaseUrl, 'run_events', runId)) === 50);
      await waitFor('the stream trimmed to its last entry', async () => (await own.redis.xlen(resultsStreamKey(own.config.redisPrefix, 'node-a'))) === 1);
    } finally {
      await ownIngest.stop();
      await own.close();
    }
  });

  it('stores a redelivered COPY batch once, with text COPY treats specially kept as it was', async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    const tricky = 'tab\there\nnew line \\N back\\slash "quoted" \r';
    const big: ResultMessage = {
      type: 'events',
      runId,
      seq: 0,
      output: 'out\tput',
      timeField: 'time_ns',
      records: Array.from({ length: 2500 }, (_, i) => ({ time_ns: i, text: `${tricky} ${i}`, n: null, ok: true })),
    };
    const deadBefore = (await deadLetters()).length;
    await deliver([big]);
    await deliver([big, { ...big, seq: 1, records: big.records.slice(0, 10) }]);
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(2510);
    // Skipped as stored, not refused by the key and set aside.
    expect(await deadLetters()).toHaveLength(deadBefore);
    expect((await getJob(job.id)).runs[0].state).toBe('queued');
    const { rows } = await withDb(t.config.databaseUrl, (db) =>
      db.query('SELECT output, data FROM run_events WHERE run_id = $1 AND seq = 0 AND idx = 1234', [runId]),
    );
    expect(rows).toEqual([{ output: 'out\tput', data: { time_ns: 1234, text: `${tricky} 1234`, n: null, ok: true } }]);
  });
  it("refuses a report about another host's run or another host, audits it and applies nothing", async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    const hostsBefore = (await t.request<HostView[]>('GET', '/v1/hosts')).body.find((h) => h.id === 'node-b');
    // What a compromised node-a (or the shared credential) could write into node-a's stream.
    await deliver(
      [
        { type: 'state', runId, at: Date.now(), state: 'running' },
        eventsBatch(runId, 0, [1, 2, 3]),
        summary(runId, 'failed'),
        { type: 'host', at: Date.now(), host: hostInfo('node-b', { team: 'stolen' }) },
      ],
      'node-a',
    );
    const after = await getJob(job.id);
    expect(after.runs[0]).toMatchObject({ hostId: 'node-b', state: 'queued', error: null });
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(0);
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(0);
    expect((await t.request<HostView[]>('GET', '/v1/hosts')).body.find((h) => h.id === 'node-b')?.labels).toEqual(hostsBefore?.labels);
    // The first in full; the rest of the window counted, and summed up when it ends.
    expect((await refusalRecords('node-a')).map((e) => [e.subject, e.detail.type, e.detail.streamHost, e.detail.reportedHost, e.detail.reason])).toEqual([
      [runId, 'state', 'node-a', 'node-b', 'host-mismatch'],
    ]);
    await ingest.closeRefusalWindows(new Date(Date.now() + t.config.refusalAuditWindowMs));
    expect((await refusalRecords('node-a'))[0]).toMatchObject({
      subject: 'node-a',
      detail: { summary: true, reason: 'host-mismatch', streamHost: 'node-a', count: 3, types: { events: 1, summary: 1, host: 1 } },
    });
    expect(await ignoredCount('host-mismatch', 'state')).toBeGreaterThanOrEqual(1);
    expect(await ignoredCount('host-mismatch', 'host')).toBeGreaterThanOrEqual(1);
    expect(await deadLetters()).not.toContainEqual(expect.objectContaining({ m: expect.stringContaining(runId) }));
    // Its own host's report on it still counts.
    await deliver([{ type: 'state', runId, at: Date.now(), state: 'running' }], 'node-b');
    expect((await getJob(job.id)).runs[0].state).toBe('running');
    expect(await pendingCount()).toBe(0);
  });

  it('audits a host flooding its own stream with 5,000 reports about another in two records, and counts every one', async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    await deliver([{ type: 'host', at: Date.now(), host: hostInfo('flooder') }]);
    const counted = async () => (await ignoredCount('host-mismatch', 'state')) + (await ignoredCount('host-mismatch', 'host'));
    const before = await counted();
    const hostile: ResultMessage[] = Array.from({ length: 5000 }, (_, i) =>
      i % 2 === 0 ? { type: 'state', runId, at: Date.now(), state: 'failed', error: `forged ${i}` } : { type: 'host', at: Date.now(), host: hostInfo('node-b', { team: 'stolen' }) },
    );
    for (let i = 0; i < hostile.length; i += 500) {
      const pipeline = t.redis.pipeline();
      for (const message of hostile.slice(i, i + 500)) pipeline.xadd(streamKey('flooder'), '*', 'm', JSON.stringify(message));
      await pipeline.exec();
    }
    await withIngestLoop(async () => {
      await waitFor('5,000 refused reports counted', async () => (await counted()) - before === 5000, 120_000);
    });
    // While the window is open: the first in full, nothing else.
    expect((await refusalRecords('flooder')).map((e) => [e.subject, e.detail.type, e.detail.summary ?? false])).toEqual([[runId, 'state', false]]);
    await ingest.closeRefusalWindows(new Date(Date.now() + t.config.refusalAuditWindowMs));
    const records = await refusalRecords('flooder');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ subject: 'flooder', detail: { summary: true, reason: 'host-mismatch', streamHost: 'flooder', count: 4999, types: { state: 2499, host: 2500 } } });
    // Closing again writes nothing more: the window is gone.
    await ingest.closeRefusalWindows(new Date(Date.now() + t.config.refusalAuditWindowMs));
    expect(await refusalRecords('flooder')).toHaveLength(2);
    expect((await getJob(job.id)).runs[0]).toMatchObject({ state: 'queued', error: null });
    expect(await pendingCount()).toBe(0);
  }, 180_000);

  it("ignores whatever comes for a run after it ended, in the same batch or later, and counts it", async () => {
    const job = await createJob(['node-a']);
    const runId = job.runs[0].id;
    const before = await ignoredCount('run-ended', 'events');
    await deliver([{ type: 'state', runId, at: Date.now(), state: 'running' }, eventsBatch(runId, 0, [1, 2]), summary(runId), eventsBatch(runId, 1, [3])]);
    await deliver([
      eventsBatch(runId, 2, [4, 5]),
      { type: 'snapshot', runId, at: Date.now(), seq: 0, outputs: [{ kind: 'hist', name: 'late', unit: 'us', buckets: [{ low: 1, high: 2, count: 9 }] }] },
      { type: 'state', runId, at: Date.now(), state: 'failed', error: 'too late' },
      { ...(summary(runId, 'failed') as Extract<ResultMessage, { type: 'summary' }>), outputs: [{ kind: 'hist', name: 'other', unit: 'us', buckets: [{ low: 1, high: 2, count: 1 }] }], counters: { events: 99, lostEvents: 0, droppedEvents: 0 } },
    ]);
    const after = await getJob(job.id);
    expect(after.runs[0]).toMatchObject({ state: 'succeeded', error: null, counters: { events: 5, lostEvents: 0, droppedEvents: 0 } });
    expect(await countRows(t.config.databaseUrl, 'run_events', runId)).toBe(2);
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(1);
    expect(await countRows(t.config.databaseUrl, 'run_snapshots', runId)).toBe(0);
    expect(await ignoredCount('run-ended', 'events')).toBe(before + 2);
    expect(await ignoredCount('run-ended', 'summary')).toBeGreaterThanOrEqual(1);
    expect(await pendingCount()).toBe(0);
  });

  it("paces its reads of a fleet of 1,000 streams, reads a busy host's again in between, and stores everything once", async () => {
    const own = await startApi('ingest-paced', { roles: new Set(['http']) });
    const ownIngest = own.api.app.get(IngestService);
    const ownStream = own.api.app.get(ResultsStreamRepository);
    // 20 ms between fleet-wide reads, one entry a stream a read: room for several reads of the busy
    // stream alone between two, however slowly each batch is stored.
    const quiet = Array.from({ length: 999 }, (_, i) => `node-q${String(i).padStart(3, '0')}`);
    const busyKey = resultsStreamKey(own.config.redisPrefix, 'node-busy');
    const MESSAGES = 300;
    try {
      // Big enough a fleet to be paced, and a busy host's backlog far over what one read asks of a stream.
      const pace = readPaceMs(1 + quiet.length);
      expect(pace).toBeGreaterThan(0);
      await own.report({ type: 'host', at: Date.now(), host: hostInfo('node-busy') });
      ownIngest.start();
      await waitFor('the busy host registered', async () => (await own.request<HostView[]>('GET', '/v1/hosts')).body.length === 1);
      await ownIngest.stop();
      const { body: job } = await own.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 60, targets: { hostIds: ['node-busy'] } } });
      const runId = job.runs[0].id;
      const pipeline = own.redis.pipeline();
      const add = (hostId: string, message: ResultMessage) => pipeline.xadd(resultsStreamKey(own.config.redisPrefix, hostId), '*', 'm', JSON.stringify(message));
      add('node-busy', { type: 'state', runId, at: Date.now(), state: 'running' });
      for (let seq = 0; seq < MESSAGES; seq++) add('node-busy', eventsBatch(runId, seq, [seq]));
      for (const id of quiet) add(id, { type: 'host', at: Date.now(), host: hostInfo(id) });
      await pipeline.exec();

      // Every read the loop makes: when, of which streams, whether of all of them (with BLOCK), and which gave entries.
      const reads: Array<{ at: number; keys: readonly string[]; fleetWide: boolean; entries: number; gave: Set<string> }> = [];
      const read = ownStream.read.bind(ownStream);
      const spy = vi.spyOn(ownStream, 'read').mockImplementation(async (consumer, keys, options) => {
        const at = performance.now();
        const entries = await read(consumer, keys, options);
        reads.push({ at, keys, fleetWide: options.blockMs !== undefined, entries: entries.length, gave: new Set(entries.map((e) => e.stream)) });
        return entries;
      });
      try {
        ownIngest.start();
        await waitFor(`${MESSAGES} batches stored`, async () => (await countRows(own.config.databaseUrl, 'run_events', runId)) === MESSAGES, 60_000);
        await waitFor('every quiet host registered', async () => (await own.request<HostView[]>('GET', '/v1/hosts')).body.length === 1 + quiet.length, 30_000);
        // Then a trickle: one heartbeat at a time across the quiet hosts, so each fleet-wide read
        // finds a few entries at once and nothing holds the next back but the pace.
        const trickleFrom = reads.length;
        const fleetReadsInTrickle = () => reads.slice(trickleFrom).filter((r) => r.fleetWide && r.entries > 0).length;
        for (let i = 0; fleetReadsInTrickle() < 20; i++) {
          if (i >= 20_000) throw new Error(`20,000 heartbeats sent and only ${fleetReadsInTrickle()} fleet-wide reads found any`);
          await own.report({ type: 'host', at: Date.now(), host: hostInfo(quiet[i % quiet.length]!) });
        }
        await ownIngest.stop();
      } finally {
        spy.mockRestore();
      }
      expect(await countRows(own.config.databaseUrl, 'run_events', runId)).toBe(MESSAGES);
      expect(await pendingCount({ stream: ownStream, redis: own.redis })).toBe(0);

      // A fleet-wide read that found less than a batch is followed by the next no sooner than the
      // pace. The spy reads the clock just after the loop does; on a loaded machine a few ms may pass
      // between the two, hence the slack (an unpaced loop reads again within a few ms).
      const fleetWide = reads.filter((r) => r.fleetWide);
      const gaps = fleetWide.slice(1).flatMap((r, i) => (fleetWide[i]!.entries < INGEST_BATCH_SIZE ? [r.at - fleetWide[i]!.at] : []));
      expect(gaps.length).toBeGreaterThanOrEqual(20);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(pace - 5);
      // In between, the busy host's stream was read alone (no BLOCK), and a read of streams alone
      // names only streams that gave entries to the read before it.
      const busyOnly = reads.flatMap((r, i) => (r.fleetWide || i === 0 ? [] : [{ keys: r.keys, before: reads[i - 1]!.gave }]));
      expect(busyOnly.some((r) => r.keys.length === 1 && r.keys[0] === busyKey)).toBe(true);
      for (const { keys, before } of busyOnly) expect(keys.filter((key) => !before.has(key))).toEqual([]);
    } finally {
      await ownIngest.stop();
      await own.close();
    }
  });

  it('reads a new host\'s stream within a few seconds, and drops a removed host\'s once it is drained', async () => {
    const own = await startApi('ingest-streams', { roles: new Set(['http']) });
    const ownIngest = own.api.app.get(IngestService);
    const ownStream = own.api.app.get(ResultsStreamRepository);
    try {
      ownIngest.start();
      await own.report({ type: 'host', at: Date.now(), host: hostInfo('node-new') });
      await waitFor('the new host registered', async () => (await own.request<HostView[]>('GET', '/v1/hosts')).body.some((h) => h.id === 'node-new'), 10_000);
      expect((await own.request('DELETE', '/v1/hosts/node-new')).status).toBe(204);
      // Drained (stored and acked); idle since its last entry: dropped by the next refresh once idle long enough.
      expect(await ownStream.dropIfDrained(resultsStreamKey(own.config.redisPrefix, 'node-new'), Date.now() + 1, 0)).toBe(true);
      expect(await ownStream.discover()).not.toContain(resultsStreamKey(own.config.redisPrefix, 'node-new'));
      // A stream with an entry not yet stored is never dropped.
      await own.report({ type: 'host', at: Date.now(), host: hostInfo('node-later') });
      expect(await ownStream.dropIfDrained(resultsStreamKey(own.config.redisPrefix, 'node-later'), Date.now() + 1, 0)).toBe(false);
    } finally {
      await ownIngest.stop();
      await own.close();
    }
  });
});

/** fleettrace_ingest_ignored_total for one reason and type, as /metrics says now. */
async function ignoredCount(reason: string, type: string): Promise<number> {
  const { body } = await t.request<string>('GET', '/metrics');
  const line = body.split('\n').find((l) => l.startsWith('fleettrace_ingest_ignored_total{') && l.includes(`reason="${reason}"`) && l.includes(`type="${type}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** The ingest.refuse records of refusals of reports that came through `streamHost`'s stream, newest first. */
async function refusalRecords(streamHost: string): Promise<AuditEntryView[]> {
  const { status, body } = await t.request<AuditPage>('GET', `/v1/audit?action=ingest.refuse&actor=host:${streamHost}&limit=500`);
  expect(status).toBe(200);
  return body.items;
}

/** Processes whatever is pending for this consumer, then whatever is new. */
async function deliverPending(): Promise<void> {
  for (const from of ['pending', 'new'] as const) {
    const entries = await stream.read(consumer(), await streams(), { from, count: 500, blockMs: 100 });
    if (entries.length > 0) await ingest.processBatch(entries);
  }
}
