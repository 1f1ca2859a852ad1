import { Worker, type Job } from 'bullmq';
import { hostQueueName, RUN_JOB_NAME, RunDispatch, type RunState } from '@fleettrace/contracts';

export type RunHandler = (dispatch: RunDispatch) => Promise<RunState>;
/** Ends a run whose dispatch this daemon cannot run as sent, with the reason; its final state. */
export type RunRefusal = (runId: string, reason: string) => Promise<RunState>;

const RunIdentity = RunDispatch.pick({ runId: true });

/**
 * Why this daemon will not run a dispatch it cannot read. A dispatch without `limits` comes from an
 * API older than whole run limits (migration 0013) during a rolling upgrade: the daemon refuses it
 * instead of making up limits, since the limits are resolved once, in the API, and nothing on the
 * way may default them again.
 */
export function dispatchRefusalReason(data: unknown, issue: { path: PropertyKey[]; message: string }): string {
  if (typeof data === 'object' && data !== null && !('limits' in data)) {
    return 'the dispatch carries no run limits: it comes from an API older than this daemon (before whole run limits); upgrade the API and run the job again';
  }
  return `the daemon cannot read the dispatch: ${issue.path.map(String).join('.') || 'dispatch'}: ${issue.message}`;
}

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
 * final state becomes the job's result. A dispatch this daemon cannot run as sent (an older API's,
 * during a rolling upgrade) goes to `refuse` with the reason, so its run ends `failed` saying why
 * instead of waiting for the reaper; one without even a run id fails as a job.
 */
export function runJobProcessor(queue: string, handler: RunHandler, refuse?: RunRefusal): (job: Pick<Job, 'id' | 'name' | 'data'>) => Promise<{ state: RunState }> {
  return async (job) => {
    if (job.name !== RUN_JOB_NAME) throw new Error(`no handler for job "${job.name}" in ${queue}`);
    const parsed = RunDispatch.safeParse(job.data);
    if (parsed.success) return { state: await handler(parsed.data) };
    const reason = dispatchRefusalReason(job.data, parsed.error.issues[0]!);
    const identity = RunIdentity.safeParse(job.data);
    if (!refuse || !identity.success) throw new Error(`malformed run dispatch ${job.id}: ${reason}`);
    return { state: await refuse(identity.data.runId, reason) };
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

  start(handler: RunHandler, refuse?: RunRefusal): void {
    const queue = hostQueueName(this.hostId);
    this.worker = new Worker(
      queue,
      runJobProcessor(queue, handler, refuse),
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
