// An enqueue that times out must leave nothing behind: the API marks its runs failed, so a run the
// add still puts in a host's queue once Redis answers would start on that host as a phantom.
// A Redis of its own, so pausing it stalls no other test.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelledRunKey, hostQueueName, type RunDispatch } from '@fleettrace/contracts';
import { freePort, startRedis, stopRedis, waitFor, type RunningRedis } from '@fleettrace/infra/stack';
import { DEFAULT_TIMINGS, type ApiConfig } from '../src/config';
import { EnqueueError, QueueRepository } from '../src/repositories/queue.repository';

const PREFIX = 'enqueue-timeout';
const ENQUEUE_TIMEOUT_MS = 300;
/** Longer than the enqueue's timeout and the cancel's after it together: main gave up on both. */
const PAUSE_MS = 2000;

let redisDir: string;
let redis: RunningRedis;
let admin: Redis;
let queues: QueueRepository;

beforeAll(async () => {
  Logger.overrideLogger(false);
  redisDir = mkdtempSync(join(tmpdir(), 'fleettrace-enqueue-timeout-'));
  redis = await startRedis({ baseDir: redisDir, port: await freePort() });
  admin = new Redis(redis.url);
  queues = new QueueRepository({ ...DEFAULT_TIMINGS, redisUrl: redis.url, redisPrefix: PREFIX, enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS } as ApiConfig);
});

afterAll(async () => {
  await queues?.beforeApplicationShutdown();
  admin?.disconnect();
  if (redis) await stopRedis(redis.pid);
  rmSync(redisDir, { recursive: true, force: true });
});

function dispatchFor(hostId: string): RunDispatch {
  // The repository stores the dispatch as the job's data and reads nothing of it but the ids.
  return { runId: randomUUID(), jobId: randomUUID(), hostId, program: 'execsnoop', params: {}, durationSeconds: 5 } as unknown as RunDispatch;
}

describe('QueueRepository.dispatch when Redis does not answer in time', () => {
  it('fails the request, then takes out what the add put in the queue once Redis answers, and marks the run cancelled', async () => {
    const hostQueue = new Queue(hostQueueName('h1'), { connection: admin.duplicate(), prefix: PREFIX });
    try {
      const run = dispatchFor('h1');
      // Writes wait until the pause ends; the API's commands are sent, but not executed.
      await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      const paused = Date.now();
      await expect(queues.dispatch([run])).rejects.toThrow(EnqueueError);
      await expect(queues.dispatch([dispatchFor('h2')]).catch((e: Error) => e.message)).resolves.toBe(
        `redis did not accept the runs within ${ENQUEUE_TIMEOUT_MS} ms`,
      );
      expect(Date.now() - paused).toBeLessThan(PAUSE_MS);

      // The cancel mark is written after the add, on the same connection: once it is there, the add has landed.
      await waitFor('the withdrawn run marked cancelled', async () => (await admin.get(cancelledRunKey(PREFIX, run.runId))) !== null, 20_000);
      await waitFor('the withdrawn run out of its host queue', async () => (await hostQueue.getJob(run.runId)) === undefined, 20_000);
      expect(await admin.get(cancelledRunKey(PREFIX, run.runId))).toBe('the API gave up enqueueing this run');
      expect(await hostQueue.getJobCounts('waiting', 'delayed', 'prioritized', 'active')).toEqual({ waiting: 0, delayed: 0, prioritized: 0, active: 0 });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      await hostQueue.close();
    }
  });

  it('still enqueues once Redis answers again', async () => {
    const run = dispatchFor('h3');
    await queues.dispatch([run]);
    const hostQueue = new Queue(hostQueueName('h3'), { connection: admin.duplicate(), prefix: PREFIX });
    try {
      expect((await hostQueue.getJob(run.runId))?.data).toEqual(run);
    } finally {
      await hostQueue.close();
    }
  });
});
