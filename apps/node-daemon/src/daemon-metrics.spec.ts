import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonMetrics } from './daemon-metrics';

const counters = { events: 3, lostEvents: 2, droppedEvents: 1 };

describe('daemon /metrics', () => {
  let metrics: DaemonMetrics | undefined;
  afterEach(async () => metrics?.close());

  it('serves its counters at 0 before anything happened, so dashboards find a series on an idle host', async () => {
    metrics = new DaemonMetrics({ id: 'h1', name: 'web-1' });
    const text = await metrics.scrape();
    for (const name of ['fleettrace_daemon_heartbeats_total', 'fleettrace_daemon_events_sent_total', 'fleettrace_daemon_events_lost_total', 'fleettrace_daemon_events_dropped_total', 'fleettrace_daemon_runs_active']) {
      expect(text).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? 0$`, 'm'));
    }
  });

  it('counts what the daemon reported and serves it as Prometheus text that promtool accepts', async () => {
    metrics = new DaemonMetrics({ id: 'h1', name: 'web-1' });
    metrics.published({ type: 'host', at: 0, host: { id: 'h1', name: 'web-1', labels: {}, kernelRelease: '6.1', arch: 'x64', btf: true, daemonVersion: '0', cgroup: null, tools: { clang: false, bpftrace: false } } });
    metrics.published({ type: 'state', runId: 'r1', at: 0, state: 'dispatched' });
    metrics.published({ type: 'state', runId: 'r1', at: 0, state: 'running' });
    metrics.published({ type: 'state', runId: 'r2', at: 0, state: 'dispatched' });
    metrics.published({ type: 'events', runId: 'r1', seq: 0, output: 'o', timeField: 't', records: [{ t: 1 }, { t: 2 }, { t: 3 }] });
    metrics.published({ type: 'summary', runId: 'r1', at: 0, state: 'succeeded', outputs: [], events: [], counters });

    const { port } = await metrics.listen('127.0.0.1', 0);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1]);
    expect(value('fleettrace_daemon_heartbeats_total')).toBe(1);
    expect(value('fleettrace_daemon_runs_started_total')).toBe(2);
    expect(value('fleettrace_daemon_runs_active')).toBe(1);
    expect(text).toMatch(/^fleettrace_daemon_runs_ended_total\{state="succeeded"[^}]*\} 1$/m);
    expect(value('fleettrace_daemon_events_sent_total')).toBe(3);
    expect(value('fleettrace_daemon_events_lost_total')).toBe(2);
    expect(text).toMatch(/^target_info\{[^}]*host_name="web-1"[^}]*\} 1$/m);

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`).toBe('');
    expect(lint.status).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});
