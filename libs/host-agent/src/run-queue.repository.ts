import { Worker, type Job } from 'bullmq';
import { hostQueueName, RUN_JOB_NAME, RunDispatch, type RunState } from '@fleettrace/contracts';

export type RunHandler = (dispatch: RunDispatch) => Promise<RunState>;

function connectionOptions(redisUrl: string): { host: string; port: number; password?: string; db?: number; maxRetriesPerRequest: null } {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    // BullMQ's blocking connections must never give up on a command.
    maxRetriesPerRequest: null,
  };
}

/**
 * What a job of a host's queue is to the host: a run dispatch, checked, handed to `handler`, whose
 * final state becomes the job's result. A job that is not a well-formed run fails.
 */
export function runJobProcessor(queue: string, handler: RunHandler): (job: Job) => Promise<{ state: RunState }> {
  return async (job) => {
    if (job.name !== RUN_JOB_NAME) throw new Error(`no handler for job "${job.name}" in ${queue}`);
    const parsed = RunDispatch.safeParse(job.data);
    if (!parsed.success) throw new Error(`malformed run dispatch ${job.id}: ${parsed.error.issues[0].message}`);
    return { state: await handler(parsed.data) };
  };
}

/** The host's own BullMQ queue: runs dispatched to this host and nowhere else. */
export class RunQueueRepository {
  private worker: Worker | undefined;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly hostId: string,
    private readonly concurrency: number,
    private readonly log: (line: string) => void,
  ) {}

  start(handler: RunHandler): void {
    const queue = hostQueueName(this.hostId);
    this.worker = new Worker(
      queue,
      runJobProcessor(queue, handler),
      {
        connection: connectionOptions(this.redisUrl),
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
  }
}
