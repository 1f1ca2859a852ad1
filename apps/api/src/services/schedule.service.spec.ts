import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiConfig } from '../config';
import type { AuditRepository } from '../repositories/audit.repository';
import type { DatabaseRepository, Db } from '../repositories/database.repository';
import type { JobRepository } from '../repositories/job.repository';
import type { QueueRepository } from '../repositories/queue.repository';
import type { RunRepository } from '../repositories/run.repository';
import type { FiringRecord, ScheduleRecord, ScheduleRepository } from '../repositories/schedule.repository';
import { RetryLater } from '../utils/retry-later';
import type { JobService } from './job.service';
import type { AuthService } from './auth.service';
import { ScheduleService } from './schedule.service';

beforeAll(() => Logger.overrideLogger(false));

const scheduleId = '0b7e5f3c-8a61-4d2e-9f10-2c3d4e5f6a7b';
const schedule: ScheduleRecord = {
  id: scheduleId,
  name: 'every second',
  cron: null,
  timezone: null,
  everySeconds: 1,
  job: { program: 'execsnoop', params: {}, durationSeconds: 1, targets: {} } as ScheduleRecord['job'],
  overlap: 'allow',
  enabled: true,
  createdBy: 'admin',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

/** `visible` says what findById finds on each call in turn (undefined: no schedule, as before its transaction commits). */
function setup(visible: Array<ScheduleRecord | undefined>) {
  const settled: FiringRecord[] = [];
  const schedules = {
    findById: vi.fn(async () => visible.shift()),
    claimFiring: vi.fn(async () => true),
    settleFiring: vi.fn(async (_: Db, firing: FiringRecord) => void settled.push(firing)),
  } as unknown as ScheduleRepository;
  const database = { pool: {} as Db, transaction: async <T>(work: (tx: Db) => Promise<T>) => work({} as Db), snapshot: async <T>(work: (tx: Db) => Promise<T>) => work({} as Db) } as unknown as DatabaseRepository;
  const queues = { removeScheduler: vi.fn(async () => undefined) } as unknown as QueueRepository;
  const jobService = { create: vi.fn(async () => ({ id: 'job-1' })) } as unknown as JobService;
  const service = new ScheduleService(
    { scheduleLateSeconds: 30 } as ApiConfig,
    database,
    schedules,
    {} as JobRepository,
    {} as RunRepository,
    {} as AuditRepository,
    queues,
    jobService,
    { ownerContext: vi.fn(async (tokenId: string) => ({ tokenId, tokenName: tokenId, scopes: ['admin'], address: null })) } as unknown as AuthService,
  );
  return { service, queues, jobService, settled };
}

describe('ScheduleService.fire', () => {
  it('looks again, rather than removing the scheduler, when a fresh firing beats the commit of its schedule', async () => {
    const { service, queues, jobService, settled } = setup([undefined, schedule]);
    const dueAt = Date.now();
    await expect(service.fire({ scheduleId }, dueAt)).rejects.toBeInstanceOf(RetryLater);
    expect(queues.removeScheduler).not.toHaveBeenCalled();

    await service.fire({ scheduleId }, dueAt);
    expect(jobService.create).toHaveBeenCalledOnce();
    expect(settled).toEqual([{ scheduleId, dueAt: new Date(dueAt), outcome: 'started', jobId: 'job-1', reason: null }]);
  });

  it('waits for a resumed schedule the same way: the firing may see it still paused', async () => {
    const { service, queues } = setup([{ ...schedule, enabled: false }]);
    await expect(service.fire({ scheduleId }, Date.now())).rejects.toBeInstanceOf(RetryLater);
    expect(queues.removeScheduler).not.toHaveBeenCalled();
  });

  it('removes a scheduler whose schedule is still gone once its firing is no longer fresh', async () => {
    const { service, queues, jobService } = setup([undefined]);
    await service.fire({ scheduleId }, Date.now() - 60_000);
    expect(queues.removeScheduler).toHaveBeenCalledWith(scheduleId);
    expect(jobService.create).not.toHaveBeenCalled();
  });
});
