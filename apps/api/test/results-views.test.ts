import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Profile } from 'pprof-format';
import type {
  CountsOutput,
  CountsView,
  EventPage,
  HistOutput,
  HistView,
  JobComparisonView,
  JobResultsView,
  JobView,
  ResultMessage,
  SummaryMessage,
  StacksOutput,
  StacksView,
} from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// The results endpoints on a job whose hosts' reports the test writes, as daemons would.
let t: TestApi;
const HOSTS = ['h-a', 'h-b', 'h-c'];

beforeAll(async () => {
  t = await startApi('results-views');
  await registerHosts(t, HOSTS.map((id) => ({ ...hostInfo(id), kernelRelease: id === 'h-c' ? '6.8.0-31-generic' : '6.1.0-13-amd64' })));
});

afterAll(async () => {
  await t?.close();
});

const hist = (buckets: Array<[number, number, number]>): HistOutput => ({ kind: 'hist', name: 'latency', unit: 'us', buckets: buckets.map(([low, high, count]) => ({ low, high, count })) });
const counts = (entries: Array<[string, number, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'calls',
  unit: 'calls',
  keyFields: ['comm', 'pid'],
  entries: entries.map(([comm, pid, value]) => ({ key: { comm, pid }, value })),
});
const stacks = (entries: Array<[string, number]>): StacksOutput => ({ kind: 'stacks', name: 'samples', unit: 'samples', entries: entries.map(([stack, value]) => ({ stack, value })), unsymbolized: 0, lost: 0 });

async function job(program = 'execsnoop'): Promise<JobView> {
  const { status, body } = await t.request<JobView>('POST', '/v1/jobs', { body: { program, durationSeconds: 1 } });
  if (status !== 201) throw new Error(JSON.stringify(body));
  return body;
}

function summary(runId: string, outputs: SummaryMessage['outputs'], state: 'succeeded' | 'failed' = 'succeeded', error?: string): ResultMessage {
  return { type: 'summary', runId, at: Date.now(), state, ...(error ? { error } : {}), outputs, events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } };
}

async function finished(view: JobView): Promise<JobView> {
  return waitFor('the job to complete', async () => {
    const { body } = await t.request<JobView>('GET', `/v1/jobs/${view.id}`);
    return body.state === 'completed' && body;
  });
}

/** The p-th percentile's bucket, computed the plain way: from every sample the buckets stand for. */
function percentileOfUnion(all: HistOutput[], q: number): [number, number] {
  const samples = all.flatMap((h) => h.buckets.flatMap((b) => Array.from({ length: b.count }, () => [b.low, b.high] as [number, number])));
  samples.sort((a, b) => a[0] - b[0]);
  return samples[Math.ceil(q * samples.length) - 1]!;
}

describe('histograms', () => {
  it('merged percentiles are the union\'s percentiles; a host whose p99 is 4× the fleet\'s is an outlier', async () => {
    const view = await job();
    const byHost: Record<string, HistOutput> = {
      'h-a': hist([[1, 2, 50], [2, 4, 40], [4, 8, 10]]),
      'h-b': hist([[1, 2, 60], [2, 4, 39], [4, 8, 1]]),
      'h-c': hist([[2, 4, 5], [32, 64, 3], [256, 512, 2]]),
    };
    for (const run of view.runs) await t.report(summary(run.id, [byHost[run.hostId]!]));
    await finished(view);
    const { body } = await t.request<JobResultsView>('GET', `/v1/jobs/${view.id}/results`);
    const merged = body.merged.find((o) => o.kind === 'hist') as HistView;
    for (const [q, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99']] as const) {
      const [low, high] = percentileOfUnion(Object.values(byHost), q);
      expect(merged.stats[key], key).toMatchObject({ low, high });
      expect(merged.stats[key]!.estimate).toBeGreaterThanOrEqual(low);
      expect(merged.stats[key]!.estimate).toBeLessThan(high);
    }
    expect(merged.stats).toMatchObject({ count: 210, p99: { low: 32, high: 64 }, max: { low: 256, high: 512 } });
    const outliers = body.hosts.map((h) => [h.hostId, (h.outputs.find((o) => o.kind === 'hist') as HistView).outlier]);
    expect(outliers).toEqual([['h-a', false], ['h-b', false], ['h-c', true]]);
  });
});

describe('counts', () => {
  let view: JobView;
  beforeAll(async () => {
    view = await job('syscount');
    const byHost: Record<string, CountsOutput> = {
      'h-a': counts([['nginx', 10, 500], ['sshd', 11, 20], ['cron', 12, 3]]),
      'h-b': counts([['nginx', 20, 300], ['bash', 21, 40]]),
      'h-c': counts([['postgres', 30, 900], ['nginx', 10, 1]]),
    };
    for (const run of view.runs) await t.report(summary(run.id, [byHost[run.hostId]!]));
    await finished(view);
  });

  it('top N with the rest as `other`, each top key with every host\'s share', async () => {
    const { body } = await t.request<JobResultsView>('GET', `/v1/jobs/${view.id}/results?top=2`);
    const merged = body.merged.find((o) => o.kind === 'counts') as CountsView;
    expect(merged).toMatchObject({
      total: 1764,
      entries: [
        { key: { comm: 'postgres', pid: 30 }, value: 900, byHost: { 'h-c': 900 } },
        { key: { comm: 'nginx', pid: 10 }, value: 501, byHost: { 'h-a': 500, 'h-c': 1 } },
      ],
      other: { value: 363, keys: 4 },
    });
    const hostA = body.hosts.find((h) => h.hostId === 'h-a')!.outputs[0] as CountsView;
    expect(hostA).toMatchObject({ total: 523, entries: [{ key: { comm: 'nginx', pid: 10 }, value: 500 }, { key: { comm: 'sshd', pid: 11 }, value: 20 }], other: { value: 3, keys: 1 } });
  });

  it('filters by key field; a field no key has is a 400 naming it', async () => {
    const { body } = await t.request<JobResultsView>('GET', `/v1/jobs/${view.id}/results?key.comm=nginx`);
    const merged = body.merged.find((o) => o.kind === 'counts') as CountsView;
    expect(merged.entries.map((e) => [e.key.pid, e.value])).toEqual([[10, 501], [20, 300]]);
    expect(merged.total).toBe(801);
    const refused = await t.request('GET', `/v1/jobs/${view.id}/results?key.cpu=1`);
    expect(refused.body).toEqual({ statusCode: 400, error: 'Bad Request', message: `key.cpu: no counts output of job ${view.id} has key field "cpu"; its key fields: comm, pid` });
    for (const [query, message] of [['top=0', 'top must be a whole number from 1 to 1000'], ['bogus=1', 'unknown query parameter "bogus"']]) {
      expect((await t.request('GET', `/v1/jobs/${view.id}/results?${query}`)).body).toMatchObject({ statusCode: 400, message });
    }
  });
});

describe('events', () => {
  let view: JobView;
  const TOTAL = 450;
  beforeAll(async () => {
    view = await job();
    let seq = 0;
    for (const [i, run] of view.runs.entries()) {
      const records = Array.from({ length: TOTAL / 3 }, (_, n) => ({ time_ns: String(2_000_000_000_000_000_000n + BigInt(n * 3 + i)), comm: n % 10 === 0 ? 'curl' : 'sh', pid: 100 + n, line: `request ${n} on ${run.hostId}` }));
      await t.report({ type: 'events', runId: run.id, seq: seq++, output: 'execs', timeField: 'time_ns', records });
      await t.report(summary(run.id, []));
    }
    await finished(view);
  });

  it('pages every event in (time, host) order with a cursor, 200 by default', async () => {
    const seen: EventPage['items'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?cursor=${cursor}` : '';
      const { body } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events${query}`);
      expect(body.items.length).toBeLessThanOrEqual(200);
      seen.push(...body.items);
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(TOTAL);
    const times = seen.map((e) => BigInt(e.time));
    expect(times.every((time, i) => i === 0 || time >= times[i - 1]!)).toBe(true);
    expect(seen[0]).toMatchObject({ hostId: view.runs[0]!.hostId, output: 'execs', record: { comm: 'curl', pid: 100 } });
  });

  it('filters by host, field value and text', async () => {
    const host = view.runs[1]!.hostId;
    const { body: byHost } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events?host=${host}&limit=1000`);
    expect(byHost.items).toHaveLength(TOTAL / 3);
    expect(new Set(byHost.items.map((e) => e.hostId))).toEqual(new Set([host]));
    const { body: curl } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events?field.comm=curl&limit=1000`);
    expect(curl.items).toHaveLength(TOTAL / 10);
    const { body: text } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events?contains=request%2012%20on&limit=1000`);
    expect(text.items.map((e) => e.record.line).sort()).toEqual(HOSTS.map((h) => `request 12 on ${h}`).sort());
    const { body: none } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events?contains=%25_`);
    expect(none.items).toEqual([]);
    expect((await t.request('GET', `/v1/jobs/${view.id}/events?limit=0`)).body).toMatchObject({ message: 'limit must be a whole number from 1 to 5000' });
    expect((await t.request('GET', `/v1/jobs/${view.id}/events?cursor=abc`)).body).toMatchObject({ message: 'cursor must be a nextCursor from a previous page' });
  });

  it('events.ndjson streams every event, the same as the pages, one object a line', async () => {
    const { status, body, contentType } = await t.request<string>('GET', `/v1/jobs/${view.id}/events.ndjson`);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/x-ndjson/);
    const lines = body.trimEnd().split('\n').map((line) => JSON.parse(line) as EventPage['items'][number]);
    expect(lines).toHaveLength(TOTAL);
    const { body: page } = await t.request<EventPage>('GET', `/v1/jobs/${view.id}/events?limit=${TOTAL}`);
    expect(lines).toEqual(page.items);
    const missing = await t.request('GET', '/v1/jobs/0b8e1c43-2f5a-4c55-9f0e-3c9f1b8f4d21/events.ndjson');
    expect(missing.status).toBe(404);
  });
});

describe('stacks and compare', () => {
  const before = { 'h-a': [['app;main;work;spin', 60], ['app;main;idle', 40]], 'h-b': [['app;main;work;spin', 50]], 'h-c': [['db;main;query', 10]] } as const;
  const after = { 'h-a': [['app;main;work;spin', 20], ['app;main;idle', 40], ['app;main;gc', 30]], 'h-b': [['app;main;work;spin', 10]], 'h-c': [['db;main;query', 10]] } as const;
  let a: JobView;
  let b: JobView;

  beforeAll(async () => {
    a = await job('profile');
    b = await job('profile');
    for (const [view, shape, histBase] of [[a, before, 1], [b, after, 4]] as const) {
      for (const run of view.runs) {
        const host = run.hostId as keyof typeof before;
        await t.report(summary(run.id, [stacks(shape[host].map(([s, v]) => [s, v])), hist([[histBase, histBase * 2, 10]]), counts([['app', 1, host === 'h-a' ? 10 * histBase : 5]])]));
      }
      await finished(view);
    }
  });

  it('pprof: a gzipped profile.proto whose sample totals equal the folded totals, with the frames of a known stack', async () => {
    const response = await fetch(`${t.url}/v1/jobs/${a.id}/results/pprof?output=samples`, { headers: { authorization: 'Bearer test-admin-token-0123456789' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const profile = Profile.decode(gunzipSync(Buffer.from(await response.arrayBuffer())));
    const strings = profile.stringTable.strings;
    const total = profile.sample.reduce((sum, s) => sum + Number(s.value[0]), 0);
    const { body: folded } = await t.request<string>('GET', `/v1/jobs/${a.id}/results/folded?output=samples`);
    const foldedTotal = folded.trimEnd().split('\n').reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(foldedTotal);
    expect(total).toBe(160);
    const functionName = new Map(profile.function.map((f) => [f.id, strings[Number(f.name)]]));
    const locationName = new Map(profile.location.map((l) => [l.id, functionName.get(l.line[0]!.functionId)]));
    const stacksSeen = profile.sample.map((s) => s.locationId.map((id) => locationName.get(id)).reverse().join(';'));
    expect(stacksSeen).toContain('app;main;work;spin');
  });

  it('the merged stacks carry their heaviest functions', async () => {
    const { body } = await t.request<JobResultsView>('GET', `/v1/jobs/${a.id}/results`);
    const merged = body.merged.find((o) => o.kind === 'stacks') as StacksView;
    expect(merged.topFunctions!.bySelf[0]).toEqual({ name: 'spin', value: 110, percent: (110 / 160) * 100 });
    // main is in every stack, the database's too.
    expect(merged.topFunctions!.byTotal.find((f) => f.name === 'main')!.value).toBe(160);
  });

  it('compare: percentile shifts, count deltas and a differential folded output; other programs are refused', async () => {
    const { status, body } = await t.request<JobComparisonView>('GET', `/v1/jobs/${a.id}/compare/${b.id}`);
    expect(status).toBe(200);
    const histCmp = body.outputs.find((o) => o.kind === 'hist');
    expect(histCmp && histCmp.kind === 'hist' && histCmp.hist.merged.p50).toMatchObject({ a: { low: 1, high: 2 }, b: { low: 4, high: 8 } });
    expect(histCmp && histCmp.kind === 'hist' && Object.keys(histCmp.hist.perHost)).toEqual(HOSTS);
    const countsCmp = body.outputs.find((o) => o.kind === 'counts');
    expect(countsCmp && countsCmp.kind === 'counts' && countsCmp.counts.movers[0]).toMatchObject({ key: { comm: 'app', pid: 1 }, a: 20, b: 50, delta: 30 });
    const stacksCmp = body.outputs.find((o) => o.kind === 'stacks');
    expect(stacksCmp && stacksCmp.kind === 'stacks' && stacksCmp.diffFolded.trimEnd().split('\n').sort()).toEqual(
      ['app;main;gc 0 30', 'app;main;idle 40 40', 'app;main;work;spin 110 30', 'db;main;query 10 10'].sort(),
    );
    const other = await job('execsnoop');
    const refused = await t.request('GET', `/v1/jobs/${a.id}/compare/${other.id}`);
    expect(refused.body).toEqual({ statusCode: 400, error: 'Bad Request', message: `job ${a.id} runs profile and job ${other.id} runs execsnoop: only jobs of one program compare` });
  });
});

describe('the failure summary', () => {
  it('groups equal causes with their kernels and hosts', async () => {
    const view = await job('syscount');
    const [ok, ...bad] = view.runs;
    await t.report(summary(ok!.id, []));
    for (const run of bad) await t.report(summary(run.id, [], 'failed', `host ${run.hostId} could not load: verifier rejected the program: R1 invalid mem access`));
    const done = await finished(view);
    expect(done.summary).toEqual({
      hosts: 3,
      byState: { succeeded: 1, failed: 2 },
      causes: [
        {
          state: 'failed',
          cause: 'host <host> could not load: verifier rejected the program: R1 invalid mem access',
          count: 2,
          kernels: [...new Set(bad.map((r) => (r.hostId === 'h-c' ? '6.8.0-31-generic' : '6.1.0-13-amd64')))].sort(),
          hosts: bad.map((r) => r.hostId).sort(),
          message: expect.stringMatching(/^2 failed: host <host> could not load: verifier rejected the program: R1 invalid mem access \(kernel /),
        },
      ],
    });
  });
});
