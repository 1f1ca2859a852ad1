import { describe, expect, it } from 'vitest';
import type { JobResultsView, JobView, RunState } from '@fleettrace/contracts';
import { ApiError, type ApiClient } from '../api/client';
import { CliError } from '../errors';
import { jobExitCode } from './outcome';
import { jobProgress } from './phases';
import { watchJob } from './watch';

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
  events: [],
  runs: runs.map((s, i) => ({
    id: `r${i}`,
    hostId: `h${i}`,
    hostName: `h${i}`,
    stage: 0,
    startDeadline: null,
    endDeadline: null,
    state: s,
    error: null,
    verifierLog: null,
    warnings: null,
    counters: s === 'succeeded' ? { events: 5, lostEvents: 1, droppedEvents: 0 } : null,
    limits: null,
    overhead: null,
    queuedAt: '',
    startedAt: null,
    finishedAt: null,
  })),
});

/** A client answering each poll from a script of views or errors, the last one repeated. */
function scripted(answers: Array<JobView | Error>): ApiClient & { polls: number } {
  const client = {
    polls: 0,
    async job() {
      const answer = answers[Math.min(client.polls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async results(): Promise<JobResultsView> {
      return { jobId: 'j', state: 'running', merged: [], hosts: [{ hostId: 'h1', hostName: 'h1', state: 'running', error: null, outputs: [{ kind: 'events', name: 'e', received: 7, dropped: 0, records: [] }] }] };
    },
  };
  return client as unknown as ApiClient & { polls: number };
}

describe('watchJob', () => {
  it('polls until the job completes, reporting each view and the events stored so far', async () => {
    const updates: Array<ReturnType<typeof jobProgress>> = [];
    const client = scripted([job('running', ['queued', 'running']), job('running', ['succeeded', 'running']), job('completed', ['succeeded', 'failed'])]);
    const done = await watchJob(client, 'j', ({ job: view, liveEvents }) => updates.push(jobProgress(view, liveEvents)), new AbortController().signal);
    expect(done.state).toBe('completed');
    expect(updates.map((u) => u.phases)).toEqual([
      { queued: 1, running: 1, done: 0, failed: 0, unsupported: 0 },
      { queued: 0, running: 1, done: 1, failed: 0, unsupported: 0 },
      { queued: 0, running: 0, done: 1, failed: 1, unsupported: 0 },
    ]);
    // A finished run counts by its counters; a running one by what the API has stored of it.
    expect(updates[1]).toMatchObject({ events: 5 + 7, lostEvents: 1 });
    expect(jobExitCode(done)).toBe(3);
    expect(jobExitCode(job('completed', ['succeeded', 'succeeded']))).toBe(0);
  });

  it('rides out an unreachable API for a few polls, but not a refusal', async () => {
    const flaky = scripted([new CliError('cannot reach the API'), new CliError('cannot reach the API'), job('completed', ['succeeded'])]);
    expect((await watchJob(flaky, 'j', () => {}, new AbortController().signal)).state).toBe('completed');
    const refused = scripted([new ApiError(404, { message: 'job j not found' })]);
    await expect(watchJob(refused, 'j', () => {}, new AbortController().signal)).rejects.toThrow('job j not found');
    expect(refused.polls).toBe(1);
  });

  it('stops when aborted and returns where the job stood', async () => {
    const controller = new AbortController();
    const client = scripted([job('running', ['running'])]);
    const watched = watchJob(client, 'j', () => controller.abort(), controller.signal);
    expect((await watched).state).toBe('running');
    expect(client.polls).toBe(1);
  });
});
