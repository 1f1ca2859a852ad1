import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DelayedError, FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  FINALIZE_JOB_NAME,
  FINALIZE_QUEUE,
  RUN_JOB_NAME,
  hostQueueName,
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
}

export type QueuedJobHandler = (job: QueuedJob) => Promise<void>;

/** Fail the request rather than hang it when Redis is unreachable. */
const ENQUEUE_TIMEOUT_MS = 10_000;
const DAY_SECONDS = 24 * 3600;

export function finalizeJobId(jobId: string): string {
  return `finalize-${jobId}`;
}

@Injectable()
export class QueueRepository implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Queues');
  private readonly producerClient: Redis;
  private readonly flows: FlowProducer;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Array<{ worker: Worker; client: Redis }> = [];

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    // Commands give up after a few reconnect attempts instead of queueing forever, so a request
    // waiting on Redis fails and its runs are marked failed rather than left hanging.
    this.producerClient = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
    this.producerClient.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
    this.flows = new FlowProducer({ connection: this.producerClient, prefix: config.redisPrefix });
    this.flows.on('error', (error) => this.logger.warn(`flow producer: ${error.message}`));
  }

  /**
   * One flow per job: a `finalize` parent and a child per run in its host's queue. Children may fail
   * or be removed (a missed run) without holding the parent back forever. The whole flow is added
   * atomically: either every host gets its run or none does.
   */
  async dispatch(jobId: string, runs: readonly RunDispatch[]): Promise<void> {
    const added = this.flows.add({
      name: FINALIZE_JOB_NAME,
      queueName: FINALIZE_QUEUE,
      data: { jobId },
      opts: {
        jobId: finalizeJobId(jobId),
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: DAY_SECONDS },
        removeOnFail: { age: 7 * DAY_SECONDS },
      },
      children: runs.map((run) => ({
        name: RUN_JOB_NAME,
        queueName: hostQueueName(run.hostId),
        data: run,
        opts: {
          jobId: run.runId,
          attempts: 1,
          ignoreDependencyOnFailure: true,
          removeOnComplete: { age: DAY_SECONDS },
          removeOnFail: { age: 7 * DAY_SECONDS },
        },
      })),
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not accept the job within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS);
    });
    try {
      await Promise.race([added, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Takes a run no host picked up out of its host's queue, so a daemon coming back later does not
   * start it and the job's finalize parent is no longer waiting on it. False if a daemon holds it.
   */
  async removeWaitingRun(hostId: string, runId: string): Promise<boolean> {
    return (await this.queue(hostQueueName(hostId)).remove(runId)) === 1;
  }

  /** Starts consuming a queue; each job goes to `handler`, which may ask for a later retry. */
  consume(queueName: string, handler: QueuedJobHandler, concurrency: number): void {
    const client = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    client.on('error', (error) => this.logger.warn(`redis (${queueName} worker): ${error.message}`));
    const worker = new Worker(
      queueName,
      async (job: Job, token?: string) => {
        try {
          await handler({ id: job.id ?? '', name: job.name, data: job.data });
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
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows.close();
    await this.producerClient.quit().catch(() => this.producerClient.disconnect());
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
