import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ReaperService } from './reaper.service';
import type { ApiConfig } from '../config';
import type { JobRepository } from '../repositories/job.repository';
import type { RunRef, RunRepository } from '../repositories/run.repository';
import type { QueueRepository } from '../repositories/queue.repository';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const missed: RunRef[] = [
  { id: 'r1', jobId: 'j1', hostId: 'h1' },
  { id: 'r2', jobId: 'j1', hostId: 'h2' },
];
const silent: RunRef[] = [{ id: 'r3', jobId: 'j2', hostId: 'h3' }];

function setup() {
  const runs = {
    markMissed: vi.fn(async () => missed),
    markSilent: vi.fn(async () => silent),
  } as unknown as RunRepository;
  const jobs = { completeAllFinished: vi.fn(async () => ['j1', 'j2']) } as unknown as JobRepository;
  const queues = {
    removeWaitingRun: vi.fn(async (hostId: string) => {
      if (hostId === 'h1') throw new Error('redis hiccup');
      return true;
    }),
  } as unknown as QueueRepository;
  const config = { missedSlackSeconds: 5, silenceSlackSeconds: 30, reaperIntervalMs: 1000 } as ApiConfig;
  return { service: new ReaperService(config, jobs, runs, queues), runs, queues };
}

describe('ReaperService.sweep', () => {
  it('applies the slack to the start deadline and the grace to silent runs', async () => {
    const { service, runs } = setup();
    const now = new Date('2030-01-01T00:00:10Z');
    await service.sweep(now);
    expect(runs.markMissed).toHaveBeenCalledWith(new Date('2030-01-01T00:00:05Z'));
    expect(runs.markSilent).toHaveBeenCalledWith(now, 5, 30);
  });

  it('takes every ended run off its host queue, carrying on past a failed removal, then completes jobs', async () => {
    const { service, queues } = setup();
    const result = await service.sweep();
    expect(vi.mocked(queues.removeWaitingRun).mock.calls).toEqual([
      ['h1', 'r1'],
      ['h2', 'r2'],
      ['h3', 'r3'],
    ]);
    expect(result.completedJobs).toEqual(['j1', 'j2']);
  });
});
