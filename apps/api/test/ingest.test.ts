import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_CONSUMER_GROUP, resultsStreamKey, type HostView, type JobView, type ResultMessage, type RunState } from '@fleettrace/contracts';
import { hostInfo, startApi, waitFor, type TestApi } from './support/api';
import { countRows, withDb } from './support/db';
import { IngestService } from '../src/services/ingest.service';
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
  await stream.ensureGroup();
  await deliver([{ type: 'host', at: Date.now(), host: hostInfo('node-a') }, { type: 'host', at: Date.now(), host: hostInfo('node-b') }]);
});

afterAll(async () => {
  await ingest?.stop();
  await t?.close();
});

/** XADDs the messages like a daemon and processes exactly those entries as one batch. */
async function deliver(messages: Array<ResultMessage | string>): Promise<void> {
  for (const message of messages) await t.report(message);
  const entries = await stream.read(consumer(), { from: 'new', count: 500, blockMs: 100 });
  expect(entries).toHaveLength(messages.length);
  await ingest.processBatch(entries);
}

async function pendingCount(): Promise<number> {
  const summary = (await t.redis.xpending(resultsStreamKey(t.config.redisPrefix), INGEST_CONSUMER_GROUP)) as unknown[];
  return Number(summary[0]);
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
    const entries = await stream.read(consumer(), { from: 'new', count: 500, blockMs: 100 });

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
    // The late summary's outputs are kept even though its state came too late.
    expect(await countRows(t.config.databaseUrl, 'run_outputs', runId)).toBe(1);
  });

  it('acks malformed entries without letting them block the good ones', async () => {
    const job = await createJob(['node-b']);
    const runId = job.runs[0].id;
    const unknownRun = '5d3b1c6e-9a0e-4c4e-8d0e-2f1f7c9b1a11';
    await t.redis.xadd(resultsStreamKey(t.config.redisPrefix), '*', 'x', 'no m field');
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
      await t.report(message);
    }
    const entries = await stream.read(consumer(), { from: 'new', count: 500, blockMs: 100 });
    expect(entries).toHaveLength(8);
    await ingest.processBatch(entries);

    expect(await pendingCount()).toBe(0);
    expect((await getJob(job.id)).runs[0].state).toBe('dispatched');
    const stored = await withDb(t.config.databaseUrl, (db) => db.query('SELECT data FROM run_events WHERE run_id = $1', [runId]));
    expect(stored.rows).toEqual([{ data: { comm: 'ab', time_ns: 1 } }]);
  });
});
