import { Inject, Injectable, Logger } from '@nestjs/common';
import { DEFAULT_GRACE_SECONDS } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository, type RunRef } from '../repositories/run.repository';
import { QueueRepository } from '../repositories/queue.repository';

export interface SweepResult {
  missed: RunRef[];
  silent: RunRef[];
  completedJobs: string[];
}

/**
 * Ends runs no daemon will ever end: those no host started before their deadline (`missed`) and
 * those whose host went quiet past any time the run could still be going (`timed_out`). Without it,
 * a dead host would keep its jobs running forever.
 */
@Injectable()
export class ReaperService {
  private readonly logger = new Logger('Reaper');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
  ) {}

  start(): void {
    // Each sweep is scheduled after the previous one ends, so a slow database never stacks them up.
    const next = () => {
      this.timer = setTimeout(() => {
        this.sweeping = this.sweep()
          .catch((error: Error) => this.logger.error(`sweep failed: ${error.message}`))
          .finally(() => {
            this.sweeping = undefined;
            if (this.timer) next();
          });
      }, this.config.reaperIntervalMs);
    };
    next();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  async sweep(now = new Date()): Promise<SweepResult> {
    const missed = await this.runs.markMissed(new Date(now.getTime() - this.config.missedSlackSeconds * 1000));
    const silent = await this.runs.markSilent(now, DEFAULT_GRACE_SECONDS, this.config.silenceSlackSeconds);
    // Out of the host queues with them, so a daemon coming back does not start a run already given
    // up on, and the job's finalize parent stops waiting for it. A run a dead daemon still holds
    // cannot be removed; its job is completed here all the same.
    for (const run of [...missed, ...silent]) {
      await this.queues
        .removeWaitingRun(run.hostId, run.id)
        .catch((error: Error) => this.logger.warn(`could not remove run ${run.id} from host ${run.hostId}'s queue: ${error.message}`));
    }
    for (const run of missed) this.logger.warn(`run ${run.id}: host ${run.hostId} did not start it before its deadline`);
    for (const run of silent) this.logger.warn(`run ${run.id}: host ${run.hostId} stopped reporting`);
    const completedJobs = await this.jobs.completeAllFinished();
    return { missed, silent, completedJobs };
  }
}
