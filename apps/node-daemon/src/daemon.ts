import { Redis } from 'ioredis';
import { cgroupId } from '@fleettrace/infra';
import type { DaemonConfig } from './config';
import { Heartbeat } from './heartbeat';
import { collectHostInfo } from './host-info';
import { ResultsRepository } from './repositories/results.repository';
import { RunQueueRepository } from './repositories/run-queue.repository';
import { RunExecutor } from './run-executor';
import { launchRunner } from './runner-process';

/** One host's agent: registers, heartbeats, and executes the runs queued for this host. */
export class Daemon {
  private readonly redis: Redis;
  private readonly heartbeat: Heartbeat;
  private readonly queue: RunQueueRepository;
  readonly executor: RunExecutor;

  constructor(private readonly config: DaemonConfig, private readonly log: (line: string) => void) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const results = new ResultsRepository(this.redis, config.redisPrefix);
    const scope = config.cgroupPath === null ? null : cgroupId(config.cgroupPath);
    this.executor = new RunExecutor(results, launchRunner, scope, log);
    this.heartbeat = new Heartbeat(results, collectHostInfo(config), log);
    this.queue = new RunQueueRepository(config.redisUrl, config.redisPrefix, config.hostId, config.concurrency, log);
  }

  async start(): Promise<void> {
    await this.heartbeat.start();
    this.queue.start((dispatch) => this.executor.execute(dispatch));
    const scope = this.config.cgroupPath ? ` tracing cgroup ${this.config.cgroupPath}` : '';
    this.log(`host ${this.config.hostId} ready${scope}`);
  }

  /** Runners detach and report (as cancelled) before the queue connection closes. */
  async stop(): Promise<void> {
    this.heartbeat.stop();
    this.executor.stopAll();
    await this.queue.close();
    this.redis.disconnect();
  }
}
