import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { hostQueueName, RUN_JOB_NAME, type DispatchRefusedMessage, type RunDispatch, type RunState } from '@fleettrace/contracts';
import { DispatchRefused, type DispatchVerifier } from './dispatch-verifier';

export type RunHandler = (dispatch: RunDispatch) => Promise<RunState>;

/**
 * The Redis URL as given: its user name (the host's own ACL user), password, database and
 * `rediss://` TLS all reach Redis. BullMQ's blocking connections must never give up on a command.
 */
function connectionOptions(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null });
}

/** What a host does with a dispatch it refused: report it (and log it); the job then fails with the reason. */
export type RefusalHandler = (refusal: DispatchRefused, queuedAs: string) => Promise<void>;

/**
 * What a job of a host's queue is to the host: a run dispatch, verified (DispatchVerifier) before
 * anything runs, handed to `handler`, whose final state becomes the job's result. A job that is not
 * a run, or a dispatch the host refuses, fails; a refusal is reported first.
 */
export function runJobProcessor(
  queue: string,
  hostId: string,
  verifier: DispatchVerifier,
  handler: RunHandler,
  onRefused: RefusalHandler,
): (job: Job) => Promise<{ state: RunState }> {
  return async (job) => {
    if (job.name !== RUN_JOB_NAME) throw new Error(`no handler for job "${job.name}" in ${queue}`);
    let dispatch: RunDispatch;
    try {
      dispatch = verifier.verify(hostId, job.id, job.data);
    } catch (error) {
      if (error instanceof DispatchRefused) await onRefused(error, job.id ?? '');
      throw error;
    }
    return { state: await handler(dispatch) };
  };
}

/** The host's own BullMQ queue: runs dispatched to this host and nowhere else. */
export class RunQueueRepository {
  private worker: Worker | undefined;
  private connection: Redis | undefined;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly hostId: string,
    private readonly concurrency: number,
    private readonly verifier: DispatchVerifier,
    private readonly report: (message: DispatchRefusedMessage) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  start(handler: RunHandler): void {
    const queue = hostQueueName(this.hostId);
    const onRefused: RefusalHandler = async (refusal, queuedAs) => {
      this.log(`refused job ${queuedAs}: ${refusal.reason}`);
      await this.report({ type: 'dispatch-refused', hostId: this.hostId, at: Date.now(), queuedAs, reason: refusal.reason, ...(refusal.runId ? { runId: refusal.runId } : {}) }).catch((error: Error) =>
        this.log(`could not report the refusal of job ${queuedAs}: ${error.message}`),
      );
    };
    this.connection = connectionOptions(this.redisUrl);
    this.worker = new Worker(
      queue,
      runJobProcessor(queue, this.hostId, this.verifier, handler, onRefused),
      {
        connection: this.connection,
        prefix: this.prefix,
        concurrency: this.concurrency,
        // A run lasts up to an hour: the lock is renewed while it runs, and a daemon that died
        // mid-run must not have its run handed out again, late, to itself after a restart.
        maxStalledCount: 0,
      },
    );
    this.worker.on('failed', (job, error) => this.log(`job ${job?.id} failed: ${error.message}`));
    this.worker.on('error', (error) => this.log(`queue ${queue}: ${error.message}`));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
