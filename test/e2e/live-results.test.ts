import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import { JobStreamMessage, type HistView, type JobView, type RunState } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import { REPO_ROOT, waitFor } from '@fleettrace/infra/stack';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone } from '../support/jobs';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');

type Received = { [K in JobStreamMessage['event']]?: Array<Extract<JobStreamMessage, { event: K }>['data']> } & { order: Array<{ event: string; id: string }> };

/** Reads a job's live stream through an SSE client library, as a browser or Grafana would, until it ends. */
function follow(fleet: Fleet, jobId: string, lastEventId?: string): { received: Received; ended: Promise<void>; close(): void } {
  const received: Received = { order: [] };
  const source = new EventSource(`${fleet.api.url}/v1/jobs/${jobId}/stream`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${fleet.api.token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }),
  });
  const ended = new Promise<void>((resolve, reject) => {
    for (const event of ['job', 'state', 'events', 'snapshot', 'end'] as const) {
      source.addEventListener(event, (message) => {
        const list = (received[event] ??= []) as unknown[];
        const data: unknown = JSON.parse(message.data);
        // Each message is the JobStreamMessage that /openapi.json documents: no field missing, wrong or extra.
        const parsed = JobStreamMessage.safeParse({ event, data });
        if (!parsed.success || !isDeepStrictEqual(parsed.data.data, data)) {
          source.close();
          reject(new Error(`a ${event} message unlike JobStreamMessage: ${parsed.success ? 'it has fields the schema does not' : parsed.error.issues[0]!.message} in ${message.data.slice(0, 300)}`));
          return;
        }
        list.push(data);
        received.order.push({ event, id: message.lastEventId });
        if (event === 'end') {
          source.close();
          resolve();
        }
      });
    }
    source.onerror = (error) => {
      if (source.readyState === EventSource.CLOSED) reject(new Error(`stream failed: ${String((error as { message?: string }).message ?? error)}`));
    };
  });
  return { received, ended, close: () => source.close() };
}

/**
 * Each run's states as the stream showed them: its state in the opening picture of the job (a run
 * can be tracing before the stream opens: a warm runner attaches in ~0.2 s), then every change since.
 */
function paths(received: Received): Map<string, RunState[]> {
  const byRun = new Map<string, RunState[]>();
  for (const picture of received.job ?? []) for (const run of picture.runs) byRun.set(run.runId, [run.state]);
  for (const change of received.state ?? []) byRun.set(change.runId, [...(byRun.get(change.runId) ?? []), change.state]);
  return byRun;
}

const tracing = (received: Received): number => [...paths(received).values()].filter((path) => path.includes('running')).length;

describe('live results over server-sent events', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('live', 2);
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('runqlat with snapshotSeconds 1: states in order, and merged snapshots of both hosts before the job completes', async () => {
    const job = await submitJob(fleet.api.client, { program: 'runqlat', durationSeconds: 4, snapshotSeconds: 1, limits: { overheadBudgetPercent: 100 } });
    const stream = follow(fleet, job.id);
    await waitFor('both runs to be tracing', async () => tracing(stream.received) === 2);
    // Something to wait in the run queue of each host while it runs.
    await Promise.all(fleet.hosts.map((host) => runInCgroup(host.cgroupPath, WORKLOAD, ['sleep', '300', '1000'])));
    await stream.ended;
    const done = await waitForJobDone(fleet.api.client, job.id);
    const completedAt = Date.parse(done.finishedAt!);

    // Each run's states arrive in the order they happened, ending where the run ended.
    const shown = paths(stream.received);
    for (const run of done.runs) {
      const path = shown.get(run.id) ?? [];
      expect(path[path.length - 1]).toBe(run.state);
      const order: RunState[] = ['queued', 'dispatched', 'loading', 'running', 'draining', 'succeeded'];
      expect(path.map((s) => order.indexOf(s))).toEqual([...path.map((s) => order.indexOf(s))].sort((a, b) => a - b));
      expect(path).toContain('running');
    }
    const snapshots = stream.received.snapshot ?? [];
    const before = snapshots.filter((s) => Date.parse(s.at) < completedAt);
    expect(before.length).toBeGreaterThanOrEqual(1);
    const last = before[before.length - 1]!;
    expect(last.hosts).toBe(2);
    const hist = last.merged.find((o) => o.kind === 'hist') as HistView;
    expect(hist.stats.count).toBeGreaterThan(0);
    expect(stream.received.end).toEqual([{ state: 'completed', runStates: { succeeded: 2 } }]);
    // Stream ids only move forward.
    expect(new Set(stream.received.order.map((o) => o.id)).size).toBeGreaterThan(1);
  });

  it('sends events as they arrive, filtered, and resumes after a Last-Event-ID without repeating what was sent', async () => {
    const job: JobView = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 3 });
    const first = follow(fleet, job.id);
    await waitFor('the runs to be running', async () => tracing(first.received) === 2);
    await runInCgroup(fleet.hosts[0].cgroupPath, '/bin/true', []);
    await waitFor('the exec event', async () => (first.received.events ?? []).some((e) => e.items.some((i) => i.record.comm === 'true')));
    const resumeFrom = first.received.order[first.received.order.length - 1]!.id;
    const sentBefore = (first.received.state ?? []).length;
    first.close();

    await runInCgroup(fleet.hosts[1].cgroupPath, '/bin/true', []);
    const second = follow(fleet, job.id, resumeFrom);
    await second.ended;
    // No picture of the job again, nothing sent before, and what came after.
    expect(second.received.job).toBeUndefined();
    const later = second.received.events?.flatMap((e) => e.items) ?? [];
    expect(later.some((i) => i.hostId === fleet.hosts[1].hostId && i.record.comm === 'true')).toBe(true);
    expect(later.some((i) => i.hostId === fleet.hosts[0].hostId && i.record.comm === 'true')).toBe(false);
    const allStates = [...(first.received.state ?? []), ...(second.received.state ?? [])];
    expect(allStates.length).toBeGreaterThan(sentBefore);
    expect(new Set(allStates.map((s) => `${s.runId}:${s.state}`)).size).toBe(allStates.length);
  });
});
