import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import {
  hostQueueName,
  type CountsOutput,
  type ErrorBody,
  type EventsView,
  type HistOutput,
  type JobResultsView,
  type JobView,
  type ResultMessage,
  type StacksOutput,
} from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { RetentionService } from '../src/services/retention.service';

// The whole API, worker role included; a tiny fake daemon per host drives the runs.
let t: TestApi;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  t = await startApi('results');
  await registerHosts(t, [hostInfo('alpha'), hostInfo('beta')]);
});

afterAll(async () => {
  for (const close of closers) await close();
  await t?.close();
});

const hist = (buckets: Array<[number, number, number]>): HistOutput => ({
  kind: 'hist',
  name: 'latency',
  unit: 'us',
  buckets: buckets.map(([low, high, count]) => ({ low, high, count })),
});
const counts = (entries: Array<[string, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'by_comm',
  unit: 'events',
  keyFields: ['comm'],
  entries: entries.map(([comm, value]) => ({ key: { comm }, value })),
});

/** What the daemon on one host reports for a run, minus the summary. */
async function runReports(runId: string, times: string[]): Promise<void> {
  const report = (m: ResultMessage) => t.report(m);
  await report({ type: 'state', runId, at: Date.now(), state: 'dispatched' });
  await report({ type: 'state', runId, at: Date.now(), state: 'running' });
  await report({
    type: 'events',
    runId,
    seq: 0,
    output: 'execs',
    timeField: 'time_ns',
    records: times.map((time_ns) => ({ time_ns, comm: 'sh' })),
  });
}

function summaryOf(runId: string, output: { hist: HistOutput; counts: CountsOutput; received: number; dropped: number }): ResultMessage {
  return {
    type: 'summary',
    runId,
    at: Date.now(),
    state: 'succeeded',
    outputs: [output.hist, output.counts],
    events: [{ kind: 'events', name: 'execs', received: output.received, dropped: output.dropped }],
    counters: { events: output.received, lostEvents: 0, droppedEvents: output.dropped },
  };
}

describe('a job driven to completion by fake daemons', () => {
  it('completes once every run ended, and its results come back per host and merged', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1 } });
    const runOf = (host: string) => job.runs.find((r) => r.hostId === host)!.id;

    // Each daemon takes its run from its queue and finishes the BullMQ job at once, before its summary
    // reaches ingest: only the summaries complete the job.
    for (const host of ['alpha', 'beta']) {
      const worker = new Worker(hostQueueName(host), async () => 'done', {
        connection: { url: t.config.redisUrl },
        prefix: t.config.redisPrefix,
      });
      closers.push(() => worker.close());
    }

    // Epoch nanoseconds are past 2^53, so they travel as decimal strings and must order exactly.
    await runReports(runOf('alpha'), ['2000000000000000010', '2000000000000000030']);
    await runReports(runOf('beta'), ['2000000000000000020', '2000000000000000005']);
    await t.report(
      summaryOf(runOf('alpha'), {
        hist: hist([
          [1, 2, 4],
          [4, 8, 1],
        ]),
        counts: counts([
          ['sh', 2],
          ['cat', 7],
        ]),
        received: 2,
        dropped: 0,
      }),
    );
    await t.report(
      summaryOf(runOf('beta'), {
        hist: hist([
          [4, 8, 2],
          [8, 16, 3],
        ]),
        counts: counts([['sh', 9]]),
        received: 5,
        dropped: 3,
      }),
    );

    const done = await waitFor('the job to complete', async () => {
      const { body } = await t.request<JobView>('GET', `/v1/jobs/${job.id}`);
      return body.state === 'completed' && body;
    });
    expect(done.runs.map((r) => [r.hostId, r.state])).toEqual([
      ['alpha', 'succeeded'],
      ['beta', 'succeeded'],
    ]);
    expect(done.finishedAt).not.toBeNull();

    const { status, body } = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results?eventsLimit=3`);
    expect(status).toBe(200);
    expect(body.state).toBe('completed');
    expect(body.hosts.map((h) => [h.hostId, h.state, h.outputs.map((o) => o.name)])).toEqual([
      ['alpha', 'succeeded', ['by_comm', 'latency', 'execs']],
      ['beta', 'succeeded', ['by_comm', 'latency', 'execs']],
    ]);
    const betaEvents = body.hosts[1].outputs.find((o) => o.kind === 'events') as EventsView;
    expect(betaEvents.records.map((r) => [r.host, r.time_ns])).toEqual([
      ['beta', '2000000000000000005'],
      ['beta', '2000000000000000020'],
    ]);
    expect(betaEvents).toMatchObject({ received: 5, dropped: 3 });

    const merged = Object.fromEntries(body.merged.map((o) => [o.kind, o]));
    expect(merged.hist).toMatchObject(
      hist([
        [1, 2, 4],
        [4, 8, 3],
        [8, 16, 3],
      ]),
    );
    expect(merged.counts).toMatchObject({
      total: 18,
      entries: [
        { key: { comm: 'sh' }, value: 11, byHost: { alpha: 2, beta: 9 } },
        { key: { comm: 'cat' }, value: 7, byHost: { alpha: 7 } },
      ],
      other: { value: 0, keys: 0 },
    });
    const events = merged.events as EventsView;
    expect(events.records.map((r) => [r.host, r.time_ns])).toEqual([
      ['beta', '2000000000000000005'],
      ['alpha', '2000000000000000010'],
      ['beta', '2000000000000000020'],
    ]);
    expect(events).toMatchObject({ kind: 'events', name: 'execs', received: 7, dropped: 3 });

    // A completed job's results are kept serialized (FinishedResultsCache): read again, the same;
    // another query is its own entry; and once retention empties the runs of their events, the
    // kept body is not served any more.
    const again = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results?eventsLimit=3`);
    expect(again.body).toEqual(body);
    const fewer = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results?eventsLimit=1`);
    expect((fewer.body.merged.find((o) => o.kind === 'events') as EventsView).records.map((r) => r.time_ns)).toEqual(['2000000000000000005']);
    const retention = t.api.app.get(RetentionService);
    expect(await retention.sweep(new Date(Date.now() + 365 * 24 * 3600 * 1000))).toBeGreaterThanOrEqual(4);
    const expired = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results?eventsLimit=3`);
    expect((expired.body.merged.find((o) => o.kind === 'events') as EventsView).records).toEqual([]);
    expect(expired.body.merged.find((o) => o.kind === 'counts')).toEqual(merged.counts);
  });
});

describe('stacks outputs', () => {
  const stacks = (entries: Array<[string, number]>, unsymbolized = 0, lost = 0): StacksOutput => ({
    kind: 'stacks',
    name: 'samples',
    unit: 'samples',
    entries: entries.map(([stack, value]) => ({ stack, value })),
    unsymbolized,
    lost,
  });
  const summary = (runId: string, outputs: Array<StacksOutput | CountsOutput>): ResultMessage => ({
    type: 'summary',
    runId,
    at: Date.now(),
    state: 'succeeded',
    outputs,
    events: [],
    counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
  });

  it('are stored per host, merged by folded stack, and served as folded text; bad names and hosts are refused', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1 } });
    const runOf = (host: string) => job.runs.find((r) => r.hostId === host)!.id;
    const alpha = stacks(
      [
        ['app;main;work;schedule_[k]', 30],
        ['app;main;idle', 5],
        ['app;[unknown]', 2],
      ],
      2,
      1,
    );
    const beta = stacks([
      ['app;main;idle', 25],
      ['app;main;work;schedule_[k]', 12],
      ['db;main;query', 5],
    ]);
    // Delivered twice, as after an ingest crash between commit and ack: stored once.
    await t.report(summary(runOf('alpha'), [alpha, counts([['sh', 1]])]));
    await t.report(summary(runOf('alpha'), [alpha, counts([['sh', 1]])]));
    await t.report(summary(runOf('beta'), [beta]));

    const results = await waitFor('both hosts\' stacks', async () => {
      const { body } = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results`);
      return body.hosts.every((h) => h.outputs.some((o) => o.kind === 'stacks')) && body;
    });
    const hostStacks = (host: string) => results.hosts.find((h) => h.hostId === host)!.outputs.find((o) => o.kind === 'stacks');
    expect(hostStacks('alpha')).toEqual(alpha);
    expect(hostStacks('beta')).toEqual(beta);
    const merged = results.merged.find((o) => o.kind === 'stacks');
    expect(merged).toMatchObject(
      stacks(
        [
          ['app;main;work;schedule_[k]', 42],
          ['app;main;idle', 30],
          ['db;main;query', 5],
          ['app;[unknown]', 2],
        ],
        2,
        1,
      ),
    );

    const folded = await t.request<string>('GET', `/v1/jobs/${job.id}/results/folded?output=samples`);
    expect(folded.status).toBe(200);
    expect(folded.contentType).toMatch(/^text\/plain/);
    expect(folded.body).toBe('app;main;work;schedule_[k] 42\napp;main;idle 30\ndb;main;query 5\napp;[unknown] 2\n');
    const betaOnly = await t.request<string>('GET', `/v1/jobs/${job.id}/results/folded?output=samples&host=beta`);
    expect(betaOnly.body).toBe('app;main;idle 25\napp;main;work;schedule_[k] 12\ndb;main;query 5\n');

    const refused = async (query: string) => (await t.request<ErrorBody>('GET', `/v1/jobs/${job.id}/results/folded${query}`)).body;
    expect(await refused('?output=nope')).toMatchObject({ statusCode: 400, message: `job ${job.id} has no output "nope"; its stacks outputs: "samples"` });
    expect(await refused('?output=by_comm')).toMatchObject({ statusCode: 400, message: `output "by_comm" of job ${job.id} is counts, not stacks; its stacks outputs: "samples"` });
    expect(await refused('?output=samples&host=gamma')).toMatchObject({ statusCode: 404, message: `host "gamma" has no run in job ${job.id}` });
    expect(await refused('')).toMatchObject({ statusCode: 400, message: 'output is required' });
  });
});
