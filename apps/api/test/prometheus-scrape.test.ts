import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, ResultMessage } from '@fleettrace/contracts';
import { ADMIN_TOKEN, hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { promtool, startPrometheus, type PrometheusServer } from '@fleettrace/testing/prometheus';

// The API's /metrics scraped by a real Prometheus; the test plays the daemons on the results stream.
let t: TestApi;
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  t = await startApi('prometheus');
  await registerHosts(t, [hostInfo('alpha'), hostInfo('beta')]);
});

afterAll(async () => {
  await prometheus?.close();
  await t?.close();
});

function summary(runId: string, state: 'succeeded' | 'failed', counters: { events: number; lostEvents: number; droppedEvents: number }): ResultMessage {
  return { type: 'summary', runId, at: Date.now(), state, outputs: [], events: [{ kind: 'events', name: 'execs', received: counters.events, dropped: counters.droppedEvents }], counters };
}

describe('/metrics', () => {
  it('needs a token, like every route', async () => {
    const { status } = await t.request('GET', '/metrics', { authorization: null });
    expect(status).toBe(401);
  });

  it('is Prometheus text that promtool accepts and a real Prometheus scrapes: job and run counts, durations, events', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1 } });
    const runOf = (host: string) => job.runs.find((r) => r.hostId === host)!.id;
    for (const host of ['alpha', 'beta']) {
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'dispatched' });
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'running' });
    }
    await t.report({ type: 'events', runId: runOf('alpha'), seq: 0, output: 'execs', timeField: 'time_ns', records: [{ time_ns: 1, comm: 'a' }, { time_ns: 2, comm: 'b' }, { time_ns: 3, comm: 'c' }] });
    await t.report(summary(runOf('alpha'), 'succeeded', { events: 3, lostEvents: 4, droppedEvents: 0 }));
    await t.report(summary(runOf('beta'), 'failed', { events: 0, lostEvents: 1, droppedEvents: 2 }));
    await waitFor('the job to complete', async () => (await t.request<JobView>('GET', `/v1/jobs/${job.id}`)).body.state === 'completed');

    const { status, body: text, contentType } = await t.request<string>('GET', '/metrics');
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const lint = promtool(['check', 'metrics'], text);
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);

    prometheus = await startPrometheus({ address: new URL(t.url).host, path: '/metrics', bearerToken: ADMIN_TOKEN });
    const scalar = async (promql: string) => {
      const samples = await prometheus!.query(promql);
      return samples.length === 1 ? samples[0]!.value : undefined;
    };
    await waitFor('a scrape', async () => (await scalar('up{job="fleettrace-api"}')) === 1, 30_000);

    expect(await scalar('fleettrace_jobs{state="completed"}')).toBe(1);
    expect(await scalar('fleettrace_jobs{state="running"}')).toBe(0);
    expect(await scalar('sum(fleettrace_runs_ended_total{state="succeeded"})')).toBe(1);
    expect(await scalar('sum(fleettrace_runs_ended_total{state="failed"})')).toBe(1);
    expect(await scalar('sum(fleettrace_runs_active)')).toBe(0); // no run is left unfinished
    expect(await scalar('fleettrace_runs_active{state="queued"}')).toBe(0);
    expect(await scalar('fleettrace_jobs_completed_total')).toBe(1);
    expect(await scalar('fleettrace_events_ingested_total')).toBe(3);
    expect(await scalar('fleettrace_events_lost_total')).toBe(5);
    expect(await scalar('fleettrace_events_dropped_total')).toBe(2);
    expect(await scalar('fleettrace_hosts{liveness="online"}')).toBe(2);
    expect(await scalar('sum(fleettrace_host_heartbeats_total)')).toBeGreaterThanOrEqual(2);
    expect(await scalar('fleettrace_ingest_lag')).toBeGreaterThanOrEqual(0);
    // Both runs were dispatched from queued and ran: two samples in each histogram, every bucket cumulative.
    expect(await scalar('sum(fleettrace_run_duration_count)')).toBe(2);
    expect(await scalar('sum(fleettrace_run_duration_bucket{le="+Inf"})')).toBe(2);
    expect(await scalar('fleettrace_run_dispatch_latency_count')).toBe(2);
    const buckets = await prometheus.query('sum by (le) (fleettrace_run_dispatch_latency_bucket)');
    const byLe = new Map(buckets.map((b) => [b.metric.le, b.value]));
    expect(byLe.get('+Inf')).toBe(2);
    const bound = (le: string | undefined) => (le === '+Inf' ? Infinity : Number(le));
    const ordered = [...byLe].sort(([a], [b]) => bound(a) - bound(b)).map(([, n]) => n);
    expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
  });
});
