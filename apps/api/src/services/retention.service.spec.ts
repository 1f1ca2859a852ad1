import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DELETE_BATCH, RetentionService } from './retention.service';
import type { ApiConfig } from '../config';
import type { ResultRepository } from '../repositories/result.repository';

beforeAll(() => Logger.overrideLogger(false));

/** Runs with events and when they finished; deletes take rows off them, at most `limit` at a time. */
function setup(runs: Array<{ id: string; finishedAt: Date; events: number }>) {
  const deletes: number[] = [];
  const marked: string[] = [];
  const results = {
    runsWithEventsFinishedBefore: async (cutoff: Date, limit: number) =>
      runs.filter((r) => r.finishedAt < cutoff && !marked.includes(r.id)).slice(0, limit).map((r) => r.id),
    deleteEventsOf: async (runIds: string[], limit: number) => {
      let left = limit;
      for (const run of runs.filter((r) => runIds.includes(r.id))) {
        const n = Math.min(run.events, left);
        run.events -= n;
        left -= n;
      }
      deletes.push(limit - left);
      return limit - left;
    },
    markEventsExpired: async (runIds: string[]) => void marked.push(...runIds),
  } as unknown as ResultRepository;
  const service = new RetentionService({ eventsRetentionDays: 7, retentionIntervalMs: 60_000 } as ApiConfig, results);
  return { service, deletes, marked, runs };
}

const now = new Date('2030-01-10T00:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);

describe('RetentionService.sweep', () => {
  it('deletes the events of runs that finished before the retention age, in bounded statements, and marks them', async () => {
    const { service, deletes, marked, runs } = setup([
      { id: 'old', finishedAt: daysAgo(8), events: 2 * RETENTION_DELETE_BATCH + 5 },
      { id: 'just-old', finishedAt: daysAgo(7.01), events: 3 },
      { id: 'recent', finishedAt: daysAgo(6.99), events: 4 },
    ]);
    expect(await service.sweep(now)).toBe(2 * RETENTION_DELETE_BATCH + 8);
    expect(deletes).toEqual([RETENTION_DELETE_BATCH, RETENTION_DELETE_BATCH, 8]);
    expect(marked).toEqual(['old', 'just-old']);
    expect(runs.map((r) => r.events)).toEqual([0, 0, 4]);
    // Marked runs are not looked at again.
    expect(await service.sweep(now)).toBe(0);
  });

  it('stops between two deletes when the worker stops; the rest waits for the next sweep', async () => {
    const { service, deletes, marked } = setup([{ id: 'old', finishedAt: daysAgo(30), events: 5 * RETENTION_DELETE_BATCH }]);
    const sweeping = service.sweep(now);
    await service.stop();
    expect(await sweeping).toBe(RETENTION_DELETE_BATCH);
    expect(deletes).toEqual([RETENTION_DELETE_BATCH]);
    expect(marked).toEqual([]);
  });
});
