import { describe, expect, it } from 'vitest';
import type { JobView, RunState } from '@fleettrace/contracts';
import { warningLines } from './host-summary';
import { LiveJob } from './live-job';
import { jobExitCode } from './outcome';
import { jobProgress } from './phases';

const job = (state: JobView['state'], runs: RunState[]): JobView => ({
  id: 'j',
  program: 'execsnoop',
  params: {},
  targets: {},
  durationSeconds: 1,
  rollout: null,
  snapshotSeconds: null,
  state,
  createdBy: 'admin',
  createdAt: new Date(0).toISOString(),
  finishedAt: null,
  scheduleId: null,
  cancelled: null,
  runStates: {},
  summary: { hosts: runs.length, byState: {}, causes: [] },
  runsPage: { total: runs.length, nextCursor: null },
  events: [],
  runs: runs.map((s, i) => ({
    id: `r${i}`,
    hostId: `h${i}`,
    hostName: `h${i}`,
    stage: 0,
    startDeadline: null,
    endDeadline: null,
    state: s,
    error: s === 'failed' ? 'verifier said no' : null,
    verifierLog: null,
    counters: s === 'succeeded' || s === 'failed' ? { events: 5, lostEvents: 1, droppedEvents: 0 } : null,
    limits: null,
    overhead: null,
    warnings: null,
    trace: { traceId: '', spanId: '', host: null },
    queuedAt: '',
    startedAt: null,
    finishedAt: null,
  })),
});

const state = (runId: string, from: RunState, to: RunState, error: string | null = null) =>
  ({ event: 'state', data: { runId, hostId: runId.replace('r', 'h'), from, state: to, error, at: '' } }) as const;

describe('LiveJob: a job as its stream tells it', () => {
  it('moves runs on by state changes, counting events per host; the runs that end are returned', () => {
    const live = new LiveJob(job('running', ['queued', 'queued']));
    expect(live.apply(state('r0', 'queued', 'running'))).toEqual([]);
    live.apply({ event: 'events', data: { items: [1, 2, 3].map((n) => ({ time: String(n), hostId: 'h0', output: 'execs', record: {} })) } });
    expect(jobProgress(live.runs, live.eventsByHost)).toEqual({ hosts: 2, phases: { queued: 1, running: 1, done: 0, failed: 0, unsupported: 0 }, events: 3, lostEvents: 0 });
    const ended = live.apply(state('r1', 'queued', 'unsupported', 'no BTF'));
    expect(ended).toMatchObject([{ hostId: 'h1', state: 'unsupported', error: 'no BTF' }]);
    expect(live.ended).toBe(false);
    live.apply({ event: 'end', data: { state: 'completed', runStates: {} } });
    expect(live.ended).toBe(true);
  });

  it('takes counters from a fetched view (the stream has none) and never moves an ended run back', () => {
    const live = new LiveJob(job('running', ['running', 'running']));
    live.apply(state('r0', 'running', 'succeeded'));
    live.absorb(job('running', ['succeeded', 'failed']));
    // A late `job` message (a resumed stream) saying running again changes nothing of an ended run.
    live.apply({ event: 'job', data: { state: 'running', runStates: {}, summary: { hosts: 2, byState: {}, causes: [] }, runs: [{ runId: 'r0', hostId: 'h0', state: 'running' }], runsPage: { total: 2, nextCursor: null } } });
    expect(live.runs).toMatchObject([
      { runId: 'r0', state: 'succeeded', counters: { events: 5, lostEvents: 1 } },
      { runId: 'r1', state: 'failed', error: 'verifier said no' },
    ]);
    // A finished run counts by its counters, not by the events streamed of it.
    expect(jobProgress(live.runs, new Map([['h0', 2]]))).toMatchObject({ events: 10, lostEvents: 2 });
    expect(jobExitCode(job('completed', ['succeeded', 'failed']))).toBe(3);
    expect(jobExitCode(job('completed', ['succeeded', 'succeeded']))).toBe(0);
  });

  it('moves runs on by the pages of the opening picture read after it, with their counters; an ended run stays ended', () => {
    const live = new LiveJob(job('running', ['queued', 'queued', 'running']));
    live.apply(state('r2', 'running', 'succeeded'));
    const later = job('running', ['running', 'failed', 'running']).runs;
    const ended = live.applyPage(later);
    expect(ended).toMatchObject([{ runId: 'r1', state: 'failed', error: 'verifier said no' }]);
    expect(live.runs).toMatchObject([
      { runId: 'r0', state: 'running' },
      { runId: 'r1', state: 'failed', counters: { events: 5, lostEvents: 1 } },
      { runId: 'r2', state: 'succeeded' },
    ]);
  });

  it("lists each host's warnings, sorted by host, then how many more it had than the summary kept", () => {
    const view = job('completed', ['succeeded', 'succeeded', 'succeeded']);
    view.runs[0].warnings = { first: ['probe tracepoint:x:y skipped'], distinct: 1 };
    view.runs[2].warnings = { first: ['helper error -14 in probe_read', 'helper error -2 in map_lookup'], distinct: 5 };
    view.runs.reverse();
    expect(warningLines(view)).toEqual([
      'h0 warning: probe tracepoint:x:y skipped',
      'h2 warning: helper error -14 in probe_read',
      'h2 warning: helper error -2 in map_lookup',
      'h2: 3 more warnings',
    ]);
    expect(warningLines(job('completed', ['succeeded']))).toEqual([]);
  });
});
