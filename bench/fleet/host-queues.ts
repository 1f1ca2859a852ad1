import { createRedisBackend, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { hostQueueName } from '@fleettrace/contracts';
import { runJobProcessor, type DispatchVerifier, type RunHandler } from '@fleettrace/host-agent';

/** BullMQ's default lock: renewed at half of it while a run goes on, as a Worker's lock manager does. */
const LOCK_MS = 30_000;
/** How long one wait for any of a group's markers blocks before it is issued again (BullMQ's drainDelay). */
const WAIT_SECONDS = 5;

export interface HostQueuesOptions {
  redisUrl: string;
  prefix: string;
  /** Runs taken at once per host, as the daemon's `--concurrency` (default 4). */
  concurrency: number;
  /** Hosts whose queues one blocking connection waits on. */
  hostsPerConnection: number;
  /** Checks each dispatch as a daemon does, so the benchmark pays what a real host pays. */
  verifier: DispatchVerifier;
  log: (line: string) => void;
}

interface HostQueue {
  hostId: string;
  worker: Worker;
  process: (job: Job) => Promise<unknown>;
  active: number;
  /** A take is in flight; `again` asks it to look once more when it ends. */
  taking: boolean;
  again: boolean;
}

/**
 * Takes runs from many hosts' queues over a few Redis connections, for the fleet simulator.
 *
 * A daemon's BullMQ Worker holds two connections and parks one in BZPOPMIN on its queue's marker
 * key until the API adds a job. 1,000 of them in one process (with a subscriber each for the
 * control channel, as the daemon has: 3,000 connections), measured on this 2-core machine: it
 * works, but costs 377 MB, 9 % of a core plus 3 % of Redis while idle (each Worker re-polls every
 * 5 s and runs its own stalled-job check and lock timer), and 0.8-1.4 s of CPU to take one job's
 * 1,000 runs (last taken 1.0-2.3 s after addBulk): CPU the API under test would lose to the
 * simulator. This way (25 hosts per wait, the control channels on one subscriber): 43
 * connections, 150 MB, under 1 % idle, 0.4-1.0 s of CPU and the last run taken 0.55-1.2 s after.
 *
 * How: one blocking connection per `hostsPerConnection` hosts waits with one BZPOPMIN on all
 * their marker keys (Redis answers with the first that gets an entry), and one shared connection
 * takes and finishes the jobs through a BullMQ Worker per host used manually (`getNextJob`,
 * `moveToCompleted`, lock renewal): the same moveToActive and moveToFinished scripts on the same
 * keys as a daemon's Worker, the same job id, lock, attempts and result. The API adds jobs, reads
 * their state and removes waiting ones exactly as with daemons: it cannot tell the difference.
 * Left out: each queue's stalled-job check, which matters only for a host that dies holding a run.
 */
export class HostQueues {
  private readonly commands: Redis;
  private readonly hosts = new Map<string, HostQueue>();
  private readonly waiters: Redis[] = [];
  private readonly waiting: Array<Promise<void>> = [];
  private readonly running = new Set<Promise<void>>();
  private closing = false;
  private tokens = 0;

  constructor(private readonly options: HostQueuesOptions) {
    // Many hosts' commands in one write per tick: the same commands, a fraction of the syscalls.
    this.commands = new Redis(options.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    this.commands.on('error', (error) => options.log(`host queues: ${error.message}`));
  }

  /** Registers a host's queue; its runs go to `handler`, as RunQueueRepository.start does for a daemon. */
  add(hostId: string, handler: RunHandler): void {
    const queue = hostQueueName(hostId);
    const worker = new Worker(
      queue,
      null,
      { connection: this.commands, prefix: this.options.prefix, lockDuration: LOCK_MS, maxStalledCount: 0, skipVersionCheck: true },
      // No dedicated blocking connection per queue: the shared waits below stand in for it.
      (name, opts) => createRedisBackend(name, opts, {}),
    );
    worker.on('error', (error) => this.options.log(`queue ${queue}: ${error.message}`));
    this.hosts.set(hostId, { hostId, worker, process: runJobProcessor(queue, hostId, this.options.verifier, handler, async (refusal, queuedAs) => this.options.log(`host ${hostId} refused job ${queuedAs}: ${refusal.reason}`)), active: 0, taking: false, again: false });
  }

  /** Starts waiting on every registered queue, after taking what is already waiting in them. */
  start(): void {
    const hosts = [...this.hosts.values()];
    for (const host of hosts) this.take(host);
    for (let i = 0; i < hosts.length; i += this.options.hostsPerConnection) {
      const group = hosts.slice(i, i + this.options.hostsPerConnection);
      const waiter = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
      waiter.on('error', (error) => this.closing || this.options.log(`host queues (waiting): ${error.message}`));
      this.waiters.push(waiter);
      this.waiting.push(this.wait(waiter, group));
    }
  }

  /** Stops taking runs and waits for the ones in progress (stop their runners first). */
  async close(): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters) waiter.disconnect();
    await Promise.all(this.waiting);
    await Promise.all(this.running);
    await Promise.all([...this.hosts.values()].map((h) => h.worker.close()));
    await this.commands.quit().catch(() => this.commands.disconnect());
  }

  private async wait(waiter: Redis, group: readonly HostQueue[]): Promise<void> {
    const byMarker = new Map(group.map((host) => [host.worker.keys.marker!, host]));
    const markers = [...byMarker.keys()];
    while (!this.closing) {
      let popped: [string, string, string | number] | null;
      try {
        popped = (await waiter.bzpopmin(...markers, WAIT_SECONDS)) as [string, string, string | number] | null;
      } catch (error) {
        if (this.closing) return;
        this.options.log(`host queues: wait failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (!popped) continue;
      const host = byMarker.get(popped[0]);
      if (!host) continue;
      // A marker's score is when its queue's next job is due: 0 for one waiting now, later for a delayed one.
      const dueIn = Number(popped[2]) - Date.now();
      if (dueIn > 0) setTimeout(() => this.take(host), dueIn);
      else this.take(host);
    }
  }

  /** Takes the host's waiting runs, up to its concurrency; each finished run looks again. */
  private take(host: HostQueue): void {
    if (this.closing) return;
    if (host.taking) {
      host.again = true;
      return;
    }
    host.taking = true;
    const taking = (async () => {
      do {
        host.again = false;
        while (host.active < this.options.concurrency && !this.closing) {
          const token = `${host.worker.id}:${this.tokens++}`;
          const job = await host.worker.getNextJob(token, { block: false });
          if (!job) break;
          host.active++;
          this.track(this.process(host, job, token).finally(() => {
            host.active--;
            this.take(host);
          }));
        }
      } while (host.again && !this.closing);
    })()
      .catch((error: Error) => this.options.log(`host ${host.hostId}: taking a run failed: ${error.message}`))
      .finally(() => (host.taking = false));
    this.track(taking);
  }

  private async process(host: HostQueue, job: Job, token: string): Promise<void> {
    const renew = setInterval(() => void job.extendLock(token, LOCK_MS).catch(() => undefined), LOCK_MS / 2);
    let result: unknown;
    try {
      result = await host.process(job);
    } catch (error) {
      this.options.log(`job ${job.id} failed: ${(error as Error).message}`);
      await job.moveToFailed(error as Error, token, false).catch((e: Error) => this.options.log(`job ${job.id}: ${e.message}`));
      return;
    } finally {
      clearInterval(renew);
    }
    await job.moveToCompleted(result, token, false).catch((e: Error) => this.options.log(`job ${job.id}: ${e.message}`));
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }
}
