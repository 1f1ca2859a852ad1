import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@fleettrace/infra/stack';
import { runInCgroup } from '@fleettrace/infra';
import { stackChainPath } from '@fleettrace/bpf-loader/testing';
import { attributesOf, hexId, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { foldedStacksOf, startPyroscopeReceiver, type PyroscopeReceiver } from '../support/pyroscope-receiver';
import { exposedNames, metricNamesIn, startPrometheus, type PrometheusServer } from '../support/prometheus';
import { waitFor } from '../support/wait';
import type { StacksOutput } from '@fleettrace/contracts';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

// Real daemons, real BPF, the API exporting to an OTLP receiver and pushing stacks to a Pyroscope
// receiver, and a real Prometheus scraping one daemon's /metrics.
describe('telemetry across the API and real daemons', () => {
  let fleet: Fleet;
  let otlp: OtlpReceiver;
  let pyroscope: PyroscopeReceiver;
  let prometheus: PrometheusServer | undefined;
  let metricsPort: number;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    pyroscope = await startPyroscopeReceiver();
    metricsPort = await freePort();
    fleet = await startFleet('telemetry', 2, {
      apiEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, FLEETTRACE_PYROSCOPE_URL: pyroscope.url },
      // Each daemon exports its own run spans to the same receiver.
      hostEnv: (i) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, ...(i === 0 ? { FLEETTRACE_METRICS_LISTEN: `127.0.0.1:${metricsPort}` } : {}) }),
    });
  }, 120_000);
  afterAll(async () => {
    await prometheus?.close();
    await fleet?.stop();
    await otlp?.close();
    await pyroscope?.close();
  });

  it('a profile job: each daemon works under its run span, and the trace, the pushed profiles and the daemon metrics agree with the job', async () => {
    const { client } = fleet.api;
    const job = await submitJob(client, { program: 'profile', params: { frequency: 49 }, durationSeconds: 2 });
    await waitForRuns(client, job.id, ['running']);
    await Promise.all(fleet.hosts.map((host) => runInCgroup(host.cgroupPath, stackChainPath(), ['0.5'])));
    const done = await waitForJobDone(client, job.id);
    expect(done.runs.map((r) => r.state), fleet.logs()).toEqual(['succeeded', 'succeeded']);

    // The job's trace as exported: the API's job span and a child span per host run, and under
    // each run span the span its host's daemon exported itself.
    const spansOf = (service: string) =>
      otlp
        .resourceSpans()
        .filter((rs) => attributesOf(rs.resource.attributes)['service.name'] === service)
        .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans.map((span) => ({ span, host: attributesOf(rs.resource.attributes)['host.id'] }))))
        .filter(({ span }) => hexId(span.traceId) === job.id.replace(/-/g, ''));
    const { spans, daemonSpans } = await waitFor('the job trace', async () => {
      const found = { spans: spansOf('fleettrace-api').map((s) => s.span), daemonSpans: spansOf('fleettrace-daemon') };
      return found.spans.length === 3 && found.daemonSpans.length === 2 && found;
    }, 20_000).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(otlp.resourceSpans().map((rs) => attributesOf(rs.resource.attributes)))}\n${fleet.logs()}`);
    });
    const jobSpan = spans.find((s) => s.parentSpanId === '')!;
    for (const run of done.runs) {
      const child = spans.find((s) => attributesOf(s.attributes)['fleettrace.run.id'] === run.id)!;
      expect(hexId(child.parentSpanId)).toBe(hexId(jobSpan.spanId));
      // The context the host's daemon received and worked under, as its own log lines name it, is the run span's.
      const daemonLog = readFileSync(join(fleet.logDir, `${run.hostId}.log`), 'utf8');
      const runLines = daemonLog.split('\n').filter((line) => line.includes(`run ${run.id}:`));
      expect(runLines.length, daemonLog).toBeGreaterThanOrEqual(2);
      for (const line of runLines) expect(line).toMatch(new RegExp(` trace_id=${hexId(child.traceId)} span_id=${hexId(child.spanId)}$`));
      // The daemon's own span of the run: the same trace, the API's run span its parent, the stages it went through.
      const own = daemonSpans.filter((d) => attributesOf(d.span.attributes)['fleettrace.run.id'] === run.id);
      expect(own).toHaveLength(1);
      const { span: daemonSpan, host } = own[0]!;
      expect(host).toBe(run.hostId);
      expect([hexId(daemonSpan.traceId), hexId(daemonSpan.parentSpanId)]).toEqual([hexId(child.traceId), hexId(child.spanId)]);
      const stages = daemonSpan.events.map((e) => e.name);
      expect(stages[0]).toBe('dispatch received');
      expect(stages).toContain('attach');
      expect(stages.at(-1)).toBe('finish');
      expect(BigInt(daemonSpan.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(child.startTimeUnixNano));
    }
    // The API compared the context each daemon returned with its run span's: both equal.
    const apiMetrics = (await client.request<string>('GET', '/metrics')).body;
    expect(apiMetrics).toMatch(/^fleettrace_trace_context_returned_total\{[^}]*result="continued"[^}]*\} [2-9]/m);
    expect(apiMetrics).toMatch(/^fleettrace_trace_context_returned_total\{[^}]*result="mismatch"[^}]*\} 0$/m);

    // Each host's stacks pushed as pprof; together they are the job's merged stacks.
    const results = await getResults(client, job.id);
    for (const host of results.hosts) {
      const stacks = host.outputs.find((o) => o.kind === 'stacks' && o.name === 'samples') as StacksOutput | undefined;
      expect(stacks?.entries.length, `${host.hostId} sampled nothing\n${fleet.logs()}`).toBeGreaterThan(0);
    }
    const pushes = await waitFor(
      'both profiles pushed',
      async () => {
        const found = pyroscope.received.filter((r) => r.query.get('name')?.includes(`fleettrace_job_id=${job.id}`));
        return found.length === 2 && found;
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: received ${JSON.stringify(pyroscope.received.map((r) => r.query.get('name')))}, refused ${JSON.stringify(pyroscope.refused)}\n${fleet.logs()}`);
    });
    expect(pyroscope.refused).toEqual([]);
    const pushed = new Map<string, number>();
    for (const push of pushes) for (const [stack, value] of foldedStacksOf(push.profile)) pushed.set(stack, (pushed.get(stack) ?? 0) + value);
    const merged = results.merged.find((o) => o.kind === 'stacks' && o.name === 'samples') as StacksOutput;
    expect(Object.fromEntries(pushed)).toEqual(Object.fromEntries(merged.entries.map((e) => [e.stack, e.value])));

    // The first daemon's /metrics, scraped by a real Prometheus: its run, its heartbeats.
    prometheus = await startPrometheus({ address: `127.0.0.1:${metricsPort}`, path: '/metrics', bearerToken: 'unused' });
    const host = fleet.hosts[0]!.hostId;
    const ended = await waitFor('the daemon scraped', async () => {
      const samples = await prometheus!.query('fleettrace_daemon_runs_ended_total');
      return samples.length > 0 && samples;
    }, 20_000);
    expect(ended.map((s) => [s.metric.state, s.value])).toEqual([['succeeded', 1]]);
    expect((await prometheus.query('fleettrace_daemon_heartbeats_total'))[0]!.value).toBeGreaterThan(0);
    // The host is the daemon's resource: Prometheus has it on target_info, as for any OTel service.
    const [target] = await prometheus.query('target_info');
    expect([target!.metric.host_id, target!.metric.service_name]).toEqual([host, 'fleettrace-daemon']);

    // The shipped dashboards' daemon panels read only names this daemon serves, and their queries
    // (the host joined from target_info) find this host's run and heartbeats.
    const served = exposedNames(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    const dashboardDir = new URL('../../infra/grafana/dashboards/', import.meta.url);
    const exprs = readdirSync(dashboardDir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => (JSON.parse(readFileSync(new URL(f, dashboardDir), 'utf8')) as { panels: Array<{ targets?: Array<{ expr?: string }> }> }).panels)
      .flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : [])))
      .filter((expr) => expr.includes('fleettrace_daemon_'));
    const daemonNames = [...new Set(exprs.flatMap(metricNamesIn))];
    expect(daemonNames).toEqual(expect.arrayContaining(['fleettrace_daemon_heartbeats_total', 'fleettrace_daemon_run_bpf_time_bucket', 'fleettrace_daemon_events_sent_total', 'fleettrace_daemon_events_lost_total']));
    expect(daemonNames.filter((name) => !served.has(name))).toEqual([]);
    // As Grafana would send them, at this host and over a window wide enough for two scrapes.
    const asGrafana = (expr: string) => expr.replaceAll('$host', host).replaceAll('$__rate_interval', '5m').replaceAll('$__range', '5m');
    const byHost = async (expr: string) => (await prometheus!.query(asGrafana(expr))).map((s) => s.metric.host_name);
    for (const expr of exprs.filter((e) => e.includes('fleettrace_daemon_heartbeats_total') || e.includes('fleettrace_daemon_runs_ended_total'))) {
      expect(await waitFor(`a series for ${host} from ${expr}`, async () => {
        const hosts = await byHost(expr);
        return hosts.length > 0 && hosts;
      }, 20_000)).toEqual([host]);
    }
  });
});
