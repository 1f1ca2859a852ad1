import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunState } from '@fleettrace/contracts';
import { FinalizeService, FINALIZE_RETRY_MS } from './finalize.service';
import { RetryLater } from '../utils/retry-later';
import type { DatabaseRepository } from '../repositories/database.repository';
import type { JobRepository } from '../repositories/job.repository';
import type { RunRepository } from '../repositories/run.repository';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const jobId = '2c5e3a4b-6d7f-4a8b-9c0d-1e2f3a4b5c6d';

function setup(states: RunState[]) {
  const database = { transaction: (work: (tx: unknown) => Promise<unknown>) => work({}) } as unknown as DatabaseRepository;
  const jobs = { completeIfFinished: vi.fn(async () => [jobId]) } as unknown as JobRepository;
  const runs = { listByJob: async () => states.map((state) => ({ state })) } as unknown as RunRepository;
  return { service: new FinalizeService(database, jobs, runs), jobs };
}

describe('FinalizeService', () => {
  it('asks to be retried later while a run is still in progress', async () => {
    const { service, jobs } = setup(['succeeded', 'running']);
    const error = await service.finalize({ jobId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLater);
    expect((error as RetryLater).delayMs).toBe(FINALIZE_RETRY_MS);
    expect(jobs.completeIfFinished).not.toHaveBeenCalled();
  });

  it('completes the job once every run has ended', async () => {
    const { service, jobs } = setup(['succeeded', 'missed']);
    await service.finalize({ jobId });
    expect(jobs.completeIfFinished).toHaveBeenCalledWith({}, [jobId]);
  });

  it('rejects data that is not a finalize payload', async () => {
    const { service } = setup([]);
    await expect(service.finalize({ jobId: 'x' })).rejects.toThrow();
  });
});
