import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { hostQueueName, RunDispatch } from '@fleettrace/contracts';
import type { HistOutput, JobResultsView, JobView, ResultMessage, StacksOutput } from '@fleettrace/contracts';
import { log2Bucket } from '@fleettrace/programs';
import { LOG2_SLOTS, log2Boundaries, log2Buckets } from '../src/telemetry/hist-buckets';
import { otlpExportFromEnv } from '../src/telemetry/otlp-config';
import { ADMIN_TOKEN, hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { exposedNames, metricNamesIn, prometheusNamesOf } from '@fleettrace/testing/prometheus';
import { attributesOf, hexId, startOtlpReceiver, type OtlpReceiver } from '@fleettrace/testing/otlp-receiver';
import { foldedStacksOf, startPyroscopeReceiver, type PyroscopeReceiver } from '@fleettrace/testing/pyroscope-receiver';
import { jobTraceId, runTraceparent, spanIdOf } from '../src/telemetry/trace-ids';

// The whole API with export on, pointed at a receiver that decodes OTLP with the official protos;
// the test plays the daemons on the results stream.
let t: TestApi;
let receiver: OtlpReceiver;
let pyroscope: PyroscopeReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  pyroscope = await startPyroscopeReceiver();
  t = await startApi('otlp', { otlpExport: { ...otlpExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, FLEETTRACE_PYROSCOPE_URL: pyroscope.url }), countsTop: 2 } });
  await registerHosts(t, [{ ...hostInfo('alpha'), kernelRelease: '6.1.0-alpha' }, { ...hostInfo('beta'), kernelRelease: '6.12.0-beta' }]);
});

afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await pyroscope?.close();
});

async function startJob(program: string): Promise<{ job: JobView; runOf: (host: string) => string }> {
  const { status, body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program, durationSeconds: 1 } });
  expect(status).toBe(201);
  return { job, runOf: (host) => job.runs.find((r) => r.hostId === host)!.id };
}

function summary(runId: string, outputs: Extract<ResultMessage, { type: 'summary' }>['outputs'], events: Array<{ name: string; received: number }> = []): ResultMessage {
  return {
    type: 'summary',
    runId,
    at: Date.now(),
    state: 'succeeded',
    outputs,
    events: events.map((e) => ({ kind: 'events', name: e.name, received: e.received, dropped: 0 })),
    counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
  };
}

const latency = (slots: Array<[number, number]>): HistOutput => ({ kind: 'hist', name: 'latency', unit: 'us', buckets: slots.map(([slot, n]) => log2Bucket(slot, n)) });

describe('run outputs exported over OTLP http/protobuf', () => {
  it('exports each run of a runqlat job as a histogram whose bounds are the log2 slots and whose buckets add up to the merged result', async () => {
    const { job, runOf } = await startJob('runqlat');
    for (const host of ['alpha', 'beta']) {
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'dispatched' });
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'running' });
    }
    // Edges on purpose: slot 0 (0 and 1), slot 1, a middle slot and the overflow slot.
    await t.report(summary(runOf('alpha'), [latency([[0, 4], [1, 1], [10, 3], [63, 1]])]));
    await t.report(summary(runOf('beta'), [latency([[1, 2], [10, 5]])]));

    const points = await waitFor('both runs exported', async () => {
      const found = receiver
        .resourceMetrics()
        .filter((rm) => attributesOf(rm.resource.attributes)['fleettrace.job.id'] === job.id)
        .map((rm) => ({ resource: attributesOf(rm.resource.attributes), metric: rm.scopeMetrics[0]!.metrics[0]! }));
      return found.length === 2 && found;
    });
    expect(receiver.refused).toEqual([]);

    for (const { resource, metric } of points) {
      expect(metric.name).toBe('fleettrace.runqlat.latency');
      expect(metric.unit).toBe('us');
      expect(metric.histogram!.aggregationTemporality).toBe(2); // CUMULATIVE
      const point = metric.histogram!.dataPoints[0]!;
      expect(point.explicitBounds).toEqual(log2Boundaries());
      expect(point.explicitBounds.slice(0, 3)).toEqual([1, 3, 7]);
      expect(point.bucketCounts).toHaveLength(LOG2_SLOTS);
      const host = String(resource['host.id']);
      expect(resource).toEqual({
        'service.name': 'fleettrace',
        'host.name': host,
        'host.id': host,
        'os.kernel.release': host === 'alpha' ? '6.1.0-alpha' : '6.12.0-beta',
        'fleettrace.job.id': job.id,
        'fleettrace.program': 'runqlat',
      });
      expect(attributesOf(point.attributes)).toEqual({ 'host.name': host, 'host.id': host, 'fleettrace.program': 'runqlat', 'fleettrace.job.id': job.id });
      expect(BigInt(point.startTimeUnixNano)).toBeLessThanOrEqual(BigInt(point.timeUnixNano));
    }
    const countsOf = (host: string) => points.find((p) => p.resource['host.id'] === host)!.metric.histogram!.dataPoints[0]!;
    expect(countsOf('alpha').bucketCounts.map(Number).filter((n, slot) => n > 0 && [0, 1, 10, 63].includes(slot))).toEqual([4, 1, 3, 1]);
    expect(countsOf('alpha').count).toBe('9');

    // The job's merged histogram, as the API serves it, equals the exported points added up bucket by bucket.
    const { body: results } = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results`);
    const merged = results.merged.find((o) => o.name === 'latency') as HistOutput;
    const exportedSum = countsOf('alpha').bucketCounts.map((n, i) => Number(n) + Number(countsOf('beta').bucketCounts[i]));
    expect(exportedSum).toEqual(log2Buckets(merged.buckets).counts);
  });

  it('exports a completed job as a trace: the job span, a child span per host run with its stage events', async () => {
    // What each host's daemon receives through BullMQ, read off the real queue.
    const received = new Map<string, RunDispatch>();
    const workers = ['alpha', 'beta'].map(
      (host) =>
        new Worker(hostQueueName(host), async (queued) => void received.set(host, RunDispatch.parse(queued.data)), {
          connection: { url: t.config.redisUrl },
          prefix: t.config.redisPrefix,
        }),
    );
    const { job, runOf } = await startJob('runqlat');
    await waitFor('both hosts to receive their run', async () => received.size === 2);
    await Promise.all(workers.map((w) => w.close()));
    for (const host of ['alpha', 'beta']) {
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'dispatched' });
      await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'running' });
    }
    await t.report(summary(runOf('alpha'), [latency([[1, 1]])]));
    await t.report({ ...(summary(runOf('beta'), []) as Extract<ResultMessage, { type: 'summary' }>), state: 'failed', error: 'attach failed: ENOENT' });

    const spans = await waitFor('the job trace', async () => {
      const found = receiver
        .resourceSpans()
        .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans))
        .filter((s) => hexId(s.traceId) === jobTraceId(job.id));
      return found.length === 3 && found;
    });
    const jobSpan = spans.find((s) => s.parentSpanId === '')!;
    expect(jobSpan.name).toBe('job runqlat');
    expect(hexId(jobSpan.spanId)).toBe(spanIdOf('job', job.id));
    expect(attributesOf(jobSpan.attributes)).toMatchObject({ 'fleettrace.job.id': job.id, 'fleettrace.program': 'runqlat', 'fleettrace.job.runs': 2, 'fleettrace.job.runs.failed': 1 });
    expect(jobSpan.status.code).toBe(2); // ERROR: a run failed
    const children = spans.filter((s) => s !== jobSpan);
    for (const child of children) {
      expect(hexId(child.parentSpanId)).toBe(hexId(jobSpan.spanId));
      const host = String(attributesOf(child.attributes)['host.id']);
      // The context the host's daemon received with its run is this span's.
      expect(received.get(host)!.traceparent).toBe(`00-${hexId(child.traceId)}-${hexId(child.spanId)}-01`);
      expect(received.get(host)!.traceparent).toBe(runTraceparent(job.id, runOf(host)));
      expect(child.events.map((e) => e.name)).toEqual(['dispatch', 'attach', 'finish']);
      expect(BigInt(child.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(jobSpan.startTimeUnixNano));
    }
    const beta = children.find((c) => attributesOf(c.attributes)['host.id'] === 'beta')!;
    expect(beta.status).toEqual({ code: 2, message: 'attach failed: ENOENT' });
    expect(children.find((c) => c !== beta)!.status.code).toBe(1); // OK
  });

  it("checks the trace context a daemon returns against its run span's, and counts one that differs", async () => {
    const returned = async () => {
      const text = (await t.request<string>('GET', '/metrics')).body;
      const value = (result: string) => Number(new RegExp(`^fleettrace_trace_context_returned_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { continued: value('continued'), mismatch: value('mismatch') };
    };
    const before = await returned();
    const { job, runOf } = await startJob('execsnoop');
    await t.report({ type: 'state', runId: runOf('alpha'), at: Date.now(), state: 'dispatched', traceparent: runTraceparent(job.id, runOf('alpha')) });
    // beta says it continued alpha's span: the right trace, the wrong parent.
    await t.report({ type: 'state', runId: runOf('beta'), at: Date.now(), state: 'dispatched', traceparent: `00-${jobTraceId(job.id)}-${spanIdOf('run', runOf('alpha'))}-01` });
    const after = await waitFor('both returned contexts checked', async () => {
      const now = await returned();
      return now.continued + now.mismatch === before.continued + before.mismatch + 2 && now;
    });
    expect(after).toEqual({ continued: before.continued + 1, mismatch: before.mismatch + 1 });
  });

  it('traces HTTP requests as server spans named by route, continuing the caller\'s trace context', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${t.url}/v1/jobs/00000000-0000-4000-8000-000000000001`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(response.status).toBe(404);
    const span = await waitFor('the request span', async () =>
      receiver
        .resourceSpans()
        .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans))
        .find((s) => hexId(s.traceId) === traceId),
    );
    expect(span.name).toBe('GET /v1/jobs/:id');
    expect(hexId(span.parentSpanId)).toBe('00f067aa0ba902b7');
    expect(attributesOf(span.attributes)).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/v1/jobs/:id', 'http.response.status_code': 404 });
  });

  it('exports each live snapshot of a run, cumulative from the run start', async () => {
    const { job, runOf } = await startJob('runqlat');
    const runId = runOf('alpha');
    await t.report({ type: 'state', runId, at: Date.now(), state: 'running' });
    await t.report({ type: 'snapshot', runId, seq: 0, at: Date.now(), outputs: [latency([[2, 6]])] });
    const point = await waitFor('the snapshot exported', async () =>
      receiver
        .resourceMetrics()
        .filter((rm) => attributesOf(rm.resource.attributes)['fleettrace.job.id'] === job.id)
        .map((rm) => rm.scopeMetrics[0]!.metrics[0]!.histogram!.dataPoints[0]!)[0],
    );
    expect(point.bucketCounts.map(Number)[2]).toBe(6);
    expect(point.count).toBe('6');
  });

  it('exports counts as monotonic sums, the top N per host on their own and the rest as `other`', async () => {
    const { job, runOf } = await startJob('syscount');
    await t.report({ type: 'state', runId: runOf('alpha'), at: Date.now(), state: 'running' });
    const entries = [
      ['read', 50],
      ['write', 30],
      ['openat', 7],
      ['close', 5],
    ] as const;
    await t.report(summary(runOf('alpha'), [{ kind: 'counts', name: 'syscalls', unit: 'calls', keyFields: ['syscall'], entries: entries.map(([syscall, value]) => ({ key: { syscall }, value })) }]));

    const metric = await waitFor('the counts exported', async () =>
      receiver
        .resourceMetrics()
        .filter((rm) => attributesOf(rm.resource.attributes)['fleettrace.job.id'] === job.id)
        .flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics))
        .find((m) => m.name === 'fleettrace.syscount.syscalls'),
    );
    expect(metric.unit).toBe('{call}');
    expect(metric.sum!.isMonotonic).toBe(true);
    const series = metric.sum!.dataPoints.map((p) => [attributesOf(p.attributes)['fleettrace.syscall.name'], Number(p.asInt)]);
    expect(series).toEqual([
      ['read', 50],
      ['write', 30],
      ['other', 12],
    ]);
  });

  it('exports event records as log records named by the catalog, fields as attributes, their time as the timestamp, their text as stored', async () => {
    const { job, runOf } = await startJob('execsnoop');
    const runId = runOf('beta');
    await t.report({ type: 'state', runId, at: Date.now(), state: 'running' });
    await t.report({
      type: 'events',
      runId,
      seq: 0,
      output: 'execs',
      timeField: 'time_ns',
      records: [
        { time_ns: '1700000000123456789', pid: 42, comm: 'sh', filename: '/bin/true', args_truncated: false },
        { time_ns: '1700000001000000001', pid: 43, comm: 'ls', filename: '/bin/ls', args_truncated: true },
      ],
    });
    // jsonb refuses NUL and lone surrogates: ingest cleans them, and what it stored is what goes out.
    await t.report({
      type: 'events',
      runId,
      seq: 1,
      output: 'execs',
      timeField: 'time_ns',
      records: [{ time_ns: '1700000002000000002', pid: 44, comm: 'a\u0000b', filename: '/bin/\ud800x', args_truncated: false }],
    });
    const logs = await waitFor('the events exported', async () => {
      const found = receiver.resourceLogs().filter((rl) => attributesOf(rl.resource.attributes)['fleettrace.job.id'] === job.id);
      return found.flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords)).length >= 3 && found;
    });
    expect(attributesOf(logs[0]!.resource.attributes)).toMatchObject({ 'host.name': 'beta', 'host.id': 'beta', 'os.kernel.release': '6.12.0-beta', 'fleettrace.program': 'execsnoop' });
    // LogRecord.event_name came with opentelemetry-proto 1.5, after the last generated root shipped
    // (otlp-transformer 0.217 still has none): the event name is checked by event-log-records.spec.ts.
    const records = logs.flatMap((rl) => rl.scopeLogs.flatMap((s) => s.logRecords));
    // The two messages may go in two requests, arriving in either order.
    expect(records.map((r) => [r.timeUnixNano, attributesOf(r.attributes)]).sort(([a], [b]) => String(a).localeCompare(String(b)))).toEqual([
      ['1700000000123456789', { time_ns: '1700000000123456789', pid: 42, comm: 'sh', filename: '/bin/true', args_truncated: false }],
      ['1700000001000000001', { time_ns: '1700000001000000001', pid: 43, comm: 'ls', filename: '/bin/ls', args_truncated: true }],
      ['1700000002000000002', { time_ns: '1700000002000000002', pid: 44, comm: 'ab', filename: '/bin/\ufffdx', args_truncated: false }],
    ]);
  });

  it('feeds every query of the shipped Grafana dashboard: each metric it reads is scraped from /metrics or exported over OTLP', async () => {
    // A run that reports its BPF cost, so the histogram of it has a series.
    const { runOf } = await startJob('execsnoop');
    await t.report({ type: 'state', runId: runOf('alpha'), at: Date.now(), state: 'running' });
    const overhead = { measured: true, peakCpuPercent: 1, meanCpuPercent: 0.5, bpfRunTimeNs: 2_000_000, bpfRunCount: 10, windowMs: 1000, samples: 1, budgetExceeded: false };
    await t.report({ ...(summary(runOf('alpha'), []) as Extract<ResultMessage, { type: 'summary' }>), overhead });
    const scraped = await waitFor('the BPF run time to be counted', async () => {
      const names = exposedNames((await t.request<string>('GET', '/metrics')).body);
      return names.has('fleettrace_run_bpf_time_bucket') && names;
    });
    const exported = new Set(receiver.resourceMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics.flatMap(prometheusNamesOf))));
    expect(exported).toContain('fleettrace_runqlat_latency_microseconds_bucket');

    // Every dashboard shipped: its Prometheus queries read only names the service exposes; its
    // profile panels select only labels the Pyroscope push sets.
    const dir = new URL('../../../infra/grafana/dashboards/', import.meta.url);
    const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Dashboard);
    expect(dashboards.length).toBeGreaterThan(0);
    const targets = dashboards.flatMap((d) => d.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ ...target, type: p.datasource?.type }))));
    const queries = [
      ...targets.filter((target) => target.type === 'prometheus').map((target) => target.expr!),
      ...dashboards.flatMap((d) => d.templating.list.flatMap((v) => (v.definition ? [v.definition] : []))),
    ];
    const read = queries.flatMap(metricNamesIn);
    expect(read.length).toBeGreaterThan(10);
    expect(read).toContain('fleettrace_runs_ended_total');
    const profileSelectors = targets.filter((target) => target.type === 'grafana-pyroscope-datasource').map((target) => target.labelSelector!);
    expect(profileSelectors.length).toBeGreaterThan(0);
    const pushedLabels = new Set(['service_name', 'host_name', 'host_id', 'fleettrace_job_id', 'fleettrace_output', 'fleettrace_schedule_id']);
    expect(profileSelectors.flatMap((selector) => [...selector.matchAll(/([a-z_]+)\s*=~?/g)].map((m) => m[1]!)).filter((label) => !pushedLabels.has(label))).toEqual([]);
    // Nothing but Prometheus and Pyroscope queries, so nothing goes unchecked.
    expect(targets.filter((target) => target.type !== 'prometheus' && target.type !== 'grafana-pyroscope-datasource')).toEqual([]);
    // Each daemon's own /metrics feeds the daemon panels: test/e2e/telemetry.test.ts checks those names against a real daemon's scrape.
    const daemonNames = read.filter((name) => name.startsWith('fleettrace_daemon_'));
    expect(daemonNames).toContain('fleettrace_daemon_heartbeats_total');
    expect(read.filter((name) => !daemonNames.includes(name) && !scraped.has(name) && !exported.has(name))).toEqual([]);
  });
});

describe('stacks pushed to a Pyroscope-compatible server', () => {
  it('pushes each run\'s stacks as pprof to /ingest, labelled by host, adding up to the job\'s merged stacks', async () => {
    const { job, runOf } = await startJob('profile');
    const stacks = (entries: Array<[string, number]>): StacksOutput => ({ kind: 'stacks', name: 'samples', unit: 'samples', entries: entries.map(([stack, value]) => ({ stack, value })), unsymbolized: 0, lost: 0 });
    for (const host of ['alpha', 'beta']) await t.report({ type: 'state', runId: runOf(host), at: Date.now(), state: 'running' });
    await t.report(summary(runOf('alpha'), [stacks([['app;main;work;schedule_[k]', 30], ['app;main;idle', 5]])]));
    await t.report(summary(runOf('beta'), [stacks([['app;main;idle', 25], ['db;main;query', 5]])]));

    const pushes = await waitFor('both runs pushed', async () => {
      const found = pyroscope.received.filter((r) => r.query.get('name')?.includes(`fleettrace_job_id=${job.id}`));
      return found.length === 2 && found;
    });
    expect(pyroscope.refused).toEqual([]);
    const hostOf = (name: string) => /host_name=([^,}]+)/.exec(name)![1];
    expect(pushes.map((p) => hostOf(p.query.get('name')!)).sort()).toEqual(['alpha', 'beta']);
    for (const push of pushes) {
      expect(push.query.get('name')).toBe(`fleettrace.profile{host_name=${hostOf(push.query.get('name')!)},host_id=${hostOf(push.query.get('name')!)},fleettrace_job_id=${job.id},fleettrace_output=samples}`);
      expect(Number(push.query.get('until'))).toBeGreaterThan(Number(push.query.get('from')));
      const strings = push.profile.stringTable.strings;
      expect(push.profile.sampleType.map((st) => [strings[Number(st.type)], strings[Number(st.unit)]])).toEqual([['samples', 'count']]);
    }

    // What Pyroscope adds up over the job equals the job's merged stacks, as the API serves them.
    const { body: results } = await t.request<JobResultsView>('GET', `/v1/jobs/${job.id}/results`);
    const merged = results.merged.find((o) => o.name === 'samples') as StacksOutput;
    const pushed = new Map<string, number>();
    for (const push of pushes) for (const [stack, value] of foldedStacksOf(push.profile)) pushed.set(stack, (pushed.get(stack) ?? 0) + value);
    expect(Object.fromEntries(pushed)).toEqual(Object.fromEntries(merged.entries.map((e) => [e.stack, e.value])));
    expect(pushed.get('app;main;idle')).toBe(30);
  });
});

interface Dashboard {
  panels: Array<{ title: string; datasource?: { type: string }; targets?: Array<{ expr?: string; labelSelector?: string }> }>;
  templating: { list: Array<{ definition?: string }> };
}
