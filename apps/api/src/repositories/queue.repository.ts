import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DelayedError, FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  CANCELLED_RUN_KEY_TTL_SECONDS,
  ROLLOUT_QUEUE,
  ROLLOUT_STEP_JOB_NAME,
  RUN_JOB_NAME,
  SCHEDULES_QUEUE,
  SCHEDULE_FIRE_JOB_NAME,
  cancelledRunKey,
  hostControlChannel,
  hostQueueName,
  type HostControlMessage,
  type RunDispatch,
} from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { RetryLater } from '../utils/retry-later';

/** A queued job as handlers see it: no BullMQ types leak past this repository. */
export interface QueuedJob {
  id: string;
  name: string;
  data: unknown;
  /** For a job a scheduler created: when it was due (epoch ms). */
  dueAt?: number;
}

export type QueuedJobHandler = (job: QueuedJob) => Promise<void>;

export interface RunOnHost {
  runId: string;
  hostId: string;
}

/** How a schedule repeats, in BullMQ job-scheduler terms. */
export type Repeat = { cron: string; timezone?: string } | { everyMs: number };

const DAY_SECONDS = 24 * 3600;
/** How often, and how long apart, a withdrawal after a timed-out enqueue is tried while Redis does not answer. */
const WITHDRAW_ATTEMPTS = 30;
const WITHDRAW_RETRY_MS = 2000;
const WITHDRAWN_REASON = 'the API gave up enqueueing this run';

export class EnqueueError extends Error {}

@Injectable()
export class QueueRepository implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Queues');
  private readonly producerClient: Redis;
  private readonly flows: FlowProducer;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Array<{ worker: Worker; client: Redis }> = [];
  /** Withdrawals of runs whose enqueue timed out, still waiting for Redis; shutdown waits for them. */
  private readonly withdrawals = new Set<Promise<void>>();

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    // Commands give up after a few reconnect attempts instead of queueing forever, so a request
    // waiting on Redis fails and its runs are marked failed rather than left hanging.
    this.producerClient = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
    this.producerClient.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
    this.flows = new FlowProducer({ connection: this.producerClient, prefix: config.redisPrefix });
    this.flows.on('error', (error) => this.logger.warn(`flow producer: ${error.message}`));
  }

  /**
   * Puts each run in its host's queue, all in one Redis transaction: every host gets its run or
   * none does. The job id is the run id, so adding a run twice adds it once. If Redis does not
   * answer in time the request fails (the caller marks the runs failed), and whatever the add may
   * still put in the queues is taken out again once it has landed (withdrawAfterTimeout), so that
   * no run the API gave up on can start later.
   */
  async dispatch(runs: readonly RunDispatch[]): Promise<void> {
    if (runs.length === 0) return;
    const added = this.flows.addBulk(
      runs.map((run) => ({
        name: RUN_JOB_NAME,
        queueName: hostQueueName(run.hostId),
        data: run,
        opts: { jobId: run.runId, attempts: 1, removeOnComplete: { age: DAY_SECONDS }, removeOnFail: { age: 7 * DAY_SECONDS } },
      })),
    );
    const timeoutMs = this.config.enqueueTimeoutMs;
    try {
      await withTimeout(added, timeoutMs, `redis did not accept the runs within ${timeoutMs} ms`);
    } catch (error) {
      this.withdrawAfterTimeout(added, runs);
      throw new EnqueueError((error as Error).message);
    }
  }

  /**
   * Takes out the runs of a timed-out enqueue and marks them cancelled for the daemons, after the
   * add has landed or failed: withdrawn at once, the removal could run before the add that Redis
   * has not executed yet (a paused or slow server), and the add would then leave a run in a host's
   * queue that the API has marked failed. Retried while Redis does not answer.
   */
  private withdrawAfterTimeout(added: Promise<unknown>, runs: readonly RunDispatch[]): void {
    const onHosts = runs.map((r) => ({ runId: r.runId, hostId: r.hostId }));
    const withdrawal = (async () => {
      await added.catch(() => undefined);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.withdraw(onHosts, WITHDRAWN_REASON);
          return;
        } catch (error) {
          const message = `could not withdraw ${runs.length} runs after a failed enqueue (attempt ${attempt}): ${(error as Error).message}`;
          if (attempt === WITHDRAW_ATTEMPTS) {
            this.logger.error(`${message}; giving up`);
            return;
          }
          this.logger.warn(message);
          await new Promise((resolve) => setTimeout(resolve, WITHDRAW_RETRY_MS));
        }
      }
    })();
    this.withdrawals.add(withdrawal);
    void withdrawal.finally(() => this.withdrawals.delete(withdrawal));
  }

  /**
   * Takes runs out of their queues and marks them cancelled for any daemon that took one meanwhile.
   * The removals go out together (one pipeline), not one round trip after another: a cancel of a
   * job on a thousand hosts answered in a second otherwise.
   */
  async withdraw(runs: readonly RunOnHost[], reason: string): Promise<void> {
    await this.cancelRuns(runs, reason);
    await Promise.all(runs.map((run) => this.removeWaitingRun(run.hostId, run.runId)));
  }

  /**
   * Takes a run no host picked up out of its host's queue, so a daemon coming back later does not
   * start it. False if a daemon holds it.
   */
  async removeWaitingRun(hostId: string, runId: string): Promise<boolean> {
    return (await this.queue(hostQueueName(hostId)).remove(runId)) === 1;
  }

  /**
   * Tells the hosts to stop these runs now: a key per run, which a daemon checks before starting
   * any run, and a message on each host's control channel for the runs it already runs.
   */
  async cancelRuns(runs: readonly RunOnHost[], reason: string): Promise<void> {
    if (runs.length === 0) return;
    const multi = this.producerClient.multi();
    for (const run of runs) {
      multi.set(cancelledRunKey(this.config.redisPrefix, run.runId), reason, 'EX', CANCELLED_RUN_KEY_TTL_SECONDS);
      const message: HostControlMessage = { type: 'cancel', runId: run.runId, reason };
      multi.publish(hostControlChannel(this.config.redisPrefix, run.hostId), JSON.stringify(message));
    }
    const timeoutMs = this.config.enqueueTimeoutMs;
    await withTimeout(multi.exec(), timeoutMs, `redis did not accept the cancel within ${timeoutMs} ms`);
  }

  /** A rollout step for the job, now or after `delayMs`; `key` makes repeated requests for one moment one step. */
  async requestRolloutStep(jobId: string, delayMs = 0, key?: string): Promise<void> {
    await this.queue(ROLLOUT_QUEUE).add(
      ROLLOUT_STEP_JOB_NAME,
      { jobId },
      {
        ...(key ? { jobId: `${jobId}.${key}` } : { deduplication: { id: `step.${jobId}`, keepLastIfActive: true } }),
        delay: delayMs,
        attempts: 5,
        backoff: { type: 'exponential', delay: 500 },
        removeOnComplete: true,
        removeOnFail: { age: DAY_SECONDS },
      },
    );
  }

  /** Creates or replaces the BullMQ job scheduler that fires a schedule. */
  async upsertScheduler(scheduleId: string, repeat: Repeat): Promise<void> {
    await this.queue(SCHEDULES_QUEUE).upsertJobScheduler(
      scheduleId,
      'cron' in repeat ? { pattern: repeat.cron, ...(repeat.timezone ? { tz: repeat.timezone } : {}) } : { every: repeat.everyMs },
      { name: SCHEDULE_FIRE_JOB_NAME, data: { scheduleId }, opts: { removeOnComplete: true, removeOnFail: { age: DAY_SECONDS } } },
    );
  }

  async removeScheduler(scheduleId: string): Promise<void> {
    await this.queue(SCHEDULES_QUEUE).removeJobScheduler(scheduleId);
  }

  /** When the scheduler fires next (epoch ms), or undefined when it has none. */
  async nextFiring(scheduleId: string): Promise<number | undefined> {
    const scheduler = await this.queue(SCHEDULES_QUEUE).getJobScheduler(scheduleId);
    return scheduler?.next ?? undefined;
  }

  /** Starts consuming a queue; each job goes to `handler`, which may ask for a later retry. */
  consume(queueName: string, handler: QueuedJobHandler, concurrency: number): void {
    const client = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    client.on('error', (error) => this.logger.warn(`redis (${queueName} worker): ${error.message}`));
    const worker = new Worker(
      queueName,
      async (job: Job, token?: string) => {
        try {
          const dueAt = schedulerDueAt(job.id);
          await handler({ id: job.id ?? '', name: job.name, data: job.data, ...(dueAt !== undefined ? { dueAt } : {}) });
        } catch (error) {
          if (!(error instanceof RetryLater)) throw error;
          await job.moveToDelayed(Date.now() + error.delayMs, token);
          throw new DelayedError(error.message);
        }
      },
      { connection: client, prefix: this.config.redisPrefix, concurrency },
    );
    worker.on('error', (error) => this.logger.warn(`worker ${queueName}: ${error.message}`));
    worker.on('failed', (job, error) => this.logger.error(`job ${job?.id} in ${queueName} failed: ${error.message}`));
    this.workers.push({ worker, client });
  }

  /** Stops taking jobs and waits for the ones in progress. */
  async closeWorkers(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.close()));
    await Promise.all(workers.map(({ client }) => client.quit().catch(() => client.disconnect())));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.closeWorkers();
    // A withdrawal still waiting for Redis gets as long as an enqueue would; Redis may be gone for good.
    await Promise.race([Promise.all(this.withdrawals), new Promise((resolve) => setTimeout(resolve, this.config.enqueueTimeoutMs).unref())]);
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows.close();
    await this.producerClient.quit().catch(() => this.producerClient.disconnect());
  }

  /** Jobs waiting (or delayed) in each named queue, for /metrics. */
  async depths(names: readonly string[]): Promise<Map<string, number>> {
    const depths = new Map<string, number>();
    for (const name of names) {
      const counts = await this.queue(name).getJobCounts('waiting', 'delayed', 'prioritized');
      depths.set(name, Object.values(counts).reduce((sum, n) => sum + n, 0));
    }
    return depths;
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.producerClient, prefix: this.config.redisPrefix });
      queue.on('error', (error) => this.logger.warn(`queue ${name}: ${error.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }
}

/** A job a BullMQ job scheduler made is "repeat:<scheduler id>:<due epoch ms>": when it was due. */
export function schedulerDueAt(jobId: string | undefined): number | undefined {
  const match = /^repeat:.+:(\d+)$/.exec(jobId ?? '');
  return match ? Number(match[1]) : undefined;
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
