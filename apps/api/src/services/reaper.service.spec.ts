import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ReaperService } from './reaper.service';
import type { ApiConfig } from '../config';
import type { RunRef, RunRepository, RunStateChange } from '../repositories/run.repository';
import type { TxClient } from '../repositories/database.repository';
import type { QueueRepository } from '../repositories/queue.repository';
import type { ResultsStreamRepository } from '../repositories/results-stream.repository';
import type { RunLifecycleService, RunTransitions } from './run-lifecycle.service';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const missed: RunRef[] = [
  { id: 'r1', jobId: 'j1', hostId: 'h1' },
  { id: 'r2', jobId: 'j1', hostId: 'h2' },
];
const silent: RunRef[] = [{ id: 'r3', jobId: 'j2', hostId: 'h3' }];
const unconfirmed: RunRef[] = [{ id: 'r4', jobId: 'j3', hostId: 'h4' }];

function setup(lagMs = 0) {
  const runs = {
    queuedPastStartDeadline: vi.fn(async () => missed),
    takenPastEndDeadline: vi.fn(async () => silent),
    unconfirmedCancels: vi.fn(async () => unconfirmed),
  } as unknown as RunRepository;
  const applied: RunStateChange[] = [];
  const lifecycle = {
    transaction: async (work: (transitions: RunTransitions) => Promise<unknown>) =>
      work({
        tx: {} as TxClient,
        // r2 was started meanwhile: the state machine does not let the reaper end it.
        apply: async (changes) => {
          applied.push(...changes);
          return changes.filter((c) => c.runId !== 'r2').map((c) => ({ id: c.runId, jobId: 'j', hostId: 'h', from: 'queued', state: c.state, error: c.error ?? null }));
        },
        release: async () => [],
        record: async () => undefined,
      }),
    completeStragglers: vi.fn(async () => ['j9']),
  } as unknown as RunLifecycleService;
  const queues = { withdraw: vi.fn(async () => undefined) } as unknown as QueueRepository;
  const stream = { ingestLagMs: vi.fn(async () => lagMs) } as unknown as ResultsStreamRepository;
  const config = { missedSlackSeconds: 5, silenceSlackSeconds: 30, reaperIntervalMs: 1000 } as ApiConfig;
  return { service: new ReaperService(config, runs, queues, stream, lifecycle), runs, queues, applied };
}

describe('ReaperService.sweep', () => {
  it('gives each deadline its slack, pushed back by how far ingest lags behind the stream', async () => {
    const { service, runs } = setup(2000);
    const now = new Date('2030-01-01T00:01:00Z');
    await service.sweep(now);
    expect(runs.queuedPastStartDeadline).toHaveBeenCalledWith(new Date('2030-01-01T00:00:53Z'));
    expect(runs.takenPastEndDeadline).toHaveBeenCalledWith(new Date('2030-01-01T00:00:28Z'));
    // The job's own grace is added in SQL, from the limits stored on it.
    expect(runs.unconfirmedCancels).toHaveBeenCalledWith(new Date('2030-01-01T00:00:28Z'));
  });

  it('ends each run with its reason, withdraws the ones it ended from their queues, then completes stragglers', async () => {
    const { service, queues, applied } = setup();
    const result = await service.sweep();
    expect(applied.map((c) => [c.runId, c.state, c.error])).toEqual([
      ['r1', 'missed', 'host h1 did not start the run before its start deadline'],
      ['r2', 'missed', 'host h2 did not start the run before its start deadline'],
      ['r3', 'timed_out', 'host h3 stopped reporting'],
      ['r4', 'cancelled', 'host h4 did not confirm the cancel'],
    ]);
    expect(vi.mocked(queues.withdraw).mock.calls[0]![0]).toEqual([
      { runId: 'r1', hostId: 'h1' },
      { runId: 'r3', hostId: 'h3' },
    ]);
    expect(result.completedJobs).toEqual(['j9']);
  });
});
