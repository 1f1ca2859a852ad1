import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, ResultMessage, RunPage, RunView } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { jobTraceId, runTraceparent, spanIdOf } from '../src/telemetry/trace-ids';

// The trace context a host's daemon returns with its run, stored on the run and shown in its view,
// with export off: following a run into its trace needs no collector on the API's side.
let t: TestApi;

beforeAll(async () => {
  t = await startApi('runtrace');
  await registerHosts(t, [hostInfo('alpha'), hostInfo('beta'), hostInfo('gamma')]);
});

afterAll(async () => {
  await t?.close();
});

const summary = (runId: string, extra: Partial<Extract<ResultMessage, { type: 'summary' }>> = {}): ResultMessage => ({
  type: 'summary',
  runId,
  at: Date.now(),
  state: 'succeeded',
  outputs: [],
  events: [],
  counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
  ...extra,
});

async function runsOf(jobId: string): Promise<Map<string, RunView>> {
  const { status, body } = await t.request<JobView>('GET', `/v1/jobs/${jobId}`);
  expect(status).toBe(200);
  return new Map(body.runs.map((r) => [r.hostId, r]));
}

describe("a run's trace context", () => {
  it("names the job's trace and the API's span of the run, then the host's span once its daemon returns the context, and whether it continued the right one", async () => {
    const { status, body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1 } });
    expect(status).toBe(201);
    const runOf = (host: string) => job.runs.find((r) => r.hostId === host)!.id;
    const traceparent = (host: string) => runTraceparent(job.id, runOf(host));

    // Before any host reports: the ids the dispatch carried, nothing returned.
    const before = await runsOf(job.id);
    expect(before.get('alpha')!.trace).toEqual({ traceId: jobTraceId(job.id), spanId: spanIdOf('run', runOf('alpha')), host: null });
    expect(traceparent('alpha')).toBe(`00-${jobTraceId(job.id)}-${spanIdOf('run', runOf('alpha'))}-01`);

    // alpha's daemon exports spans: it names its own; beta's does not; gamma's continued alpha's span.
    await t.report({ type: 'state', runId: runOf('alpha'), at: Date.now(), state: 'dispatched', traceparent: traceparent('alpha'), hostSpanId: 'feedfacecafebeef' });
    await t.report({ type: 'state', runId: runOf('beta'), at: Date.now(), state: 'dispatched', traceparent: traceparent('beta') });
    await t.report({ type: 'state', runId: runOf('gamma'), at: Date.now(), state: 'dispatched', traceparent: traceparent('alpha') });
    const returned = await waitFor('the three contexts stored', async () => {
      const runs = await runsOf(job.id);
      return [...runs.values()].every((r) => r.trace.host !== null) && runs;
    });
    expect(returned.get('alpha')!.trace.host).toEqual({ traceparent: traceparent('alpha'), continued: true, spanId: 'feedfacecafebeef' });
    expect(returned.get('beta')!.trace.host).toEqual({ traceparent: traceparent('beta'), continued: true, spanId: null });
    expect(returned.get('gamma')!.trace).toEqual({ traceId: jobTraceId(job.id), spanId: spanIdOf('run', runOf('gamma')), host: { traceparent: traceparent('alpha'), continued: false, spanId: null } });

    // The summary returns the context again without a span id (an older daemon): the span id is kept.
    // A host that did not sample the trace (flags 00) still continued the run's span.
    const unsampled = traceparent('beta').replace(/-01$/, '-00');
    for (const host of ['alpha', 'beta', 'gamma']) await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'running' });
    await t.report(summary(runOf('alpha'), { traceparent: traceparent('alpha') }));
    await t.report(summary(runOf('beta'), { traceparent: unsampled }));
    await t.report(summary(runOf('gamma')));
    const ended = await waitFor('the runs to end', async () => {
      const runs = await runsOf(job.id);
      return [...runs.values()].every((r) => r.state === 'succeeded') && runs;
    });
    expect(ended.get('alpha')!.trace.host).toEqual({ traceparent: traceparent('alpha'), continued: true, spanId: 'feedfacecafebeef' });
    expect(ended.get('beta')!.trace.host).toEqual({ traceparent: unsampled, continued: true, spanId: null });
    expect(ended.get('gamma')!.trace.host).toEqual({ traceparent: traceparent('alpha'), continued: false, spanId: null });

    // The runs page shows the same.
    const { body: page } = await t.request<RunPage>('GET', `/v1/jobs/${job.id}/runs?host=alpha`);
    expect(page.items.map((r) => r.trace.host?.spanId)).toEqual(['feedfacecafebeef']);
  });

  it('refuses a span id that is no W3C span id: the report is dead-lettered and its run fails saying why', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1, targets: { hostIds: ['alpha'] } } });
    const runId = job.runs[0]!.id;
    await t.report({ type: 'state', runId, at: Date.now(), state: 'dispatched', traceparent: runTraceparent(job.id, runId), hostSpanId: 'FEEDFACECAFEBEEF' });
    const run = await waitFor('the run to fail', async () => {
      const found = (await runsOf(job.id)).get('alpha')!;
      return found.state === 'failed' && found;
    });
    expect(run.error).toContain('hostSpanId: must be a W3C span id: 16 lowercase hex digits, not all zero');
    expect(run.trace.host).toBeNull();
  });
});
