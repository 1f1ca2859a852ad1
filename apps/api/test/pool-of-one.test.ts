import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobPage, JobView, RunState } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// With one PostgreSQL connection, any code path that holds a connection while it asks the pool for a
// second one waits for itself until the connect timeout, and its request answers 503. Under a burst
// of requests on the default pool the same nesting starves every connection at once (the soak
// benchmark's 503s on bursts of 50 job creations). So the whole job lifecycle runs here on a pool of
// one: it must complete with no request refused.
let t: TestApi;
const FLEET = Array.from({ length: 5 }, (_, i) => hostInfo(`pool-${i}`, { tier: 'web' }));

beforeAll(async () => {
  t = await startApi('pool-of-one', { databasePoolSize: 1, reaperIntervalMs: 200 });
  await registerHosts(t, FLEET);
});

afterAll(async () => {
  await t?.close();
});

async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await t.request<T>(method, path, body === undefined ? {} : { body });
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
  return response.body;
}

async function report(runId: string, ...states: RunState[]): Promise<void> {
  for (const state of states) {
    if (state === 'succeeded') {
      await t.report({ type: 'summary', runId, at: Date.now(), state, outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } });
    } else {
      await t.report({ type: 'state', runId, at: Date.now(), state });
    }
  }
}

describe('a pool of one PostgreSQL connection', () => {
  it('runs a staged job from creation to completion, with reads and a cancel meanwhile, and refuses nothing', async () => {
    const job = await ok<JobView>('POST', '/v1/jobs', {
      program: 'execsnoop',
      durationSeconds: 30,
      targets: { selector: 'tier=web' },
      rollout: { canary: 1, batchSize: 2, batchIntervalSeconds: 1 },
    });
    const other = await ok<JobView>('POST', '/v1/jobs', { program: 'syscount', durationSeconds: 30, targets: { hosts: ['pool-0'] } });
    const canary = job.runs.find((r) => r.state === 'queued')!;
    await report(canary.id, 'dispatched', 'loading', 'running');

    // Every batch is released by rollout steps, each in its own transaction.
    const released = await waitFor('every batch released', async () => {
      const view = await ok<JobView>('GET', `/v1/jobs/${job.id}`);
      return view.runs.every((r) => r.state !== 'pending') && view;
    }, 20_000);
    expect(released.events.filter((e) => e.kind === 'stage_released')).toHaveLength(3);

    const cancelled = await ok<JobView>('POST', `/v1/jobs/${other.id}/cancel`, { reason: 'not needed' });
    expect(cancelled.runs.map((r) => r.state)).toEqual(['cancelled']);

    for (const run of released.runs) await report(run.id, ...(run.id === canary.id ? [] : (['dispatched', 'loading', 'running'] as RunState[])), 'succeeded');
    const done = await waitFor('the job to complete', async () => {
      const view = await ok<JobView>('GET', `/v1/jobs/${job.id}`);
      return view.state === 'completed' && view;
    }, 20_000);
    expect(done.summary.byState).toEqual({ succeeded: 5 });
    await ok('GET', `/v1/jobs/${job.id}/results`);
    const page = await ok<JobPage>('GET', '/v1/jobs?limit=10');
    expect(page.items.map((j) => j.id)).toEqual(expect.arrayContaining([job.id, other.id]));
  });

  it('records a dispatch its host refused, and fails that run', async () => {
    const job = await ok<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 30, targets: { hosts: ['pool-1'] } });
    const runId = job.runs[0]!.id;
    await t.report({ type: 'dispatch-refused', hostId: 'pool-1', at: Date.now(), queuedAs: runId, runId, reason: "its signature is not the API's" });
    const failed = await waitFor('the refused run to fail', async () => {
      const run = (await ok<JobView>('GET', `/v1/jobs/${job.id}`)).runs[0]!;
      return run.state === 'failed' && run;
    }, 20_000);
    expect(failed.error).toBe("host pool-1 refused the dispatch: its signature is not the API's");
  });
});
