import { Inject, Injectable, Logger } from '@nestjs/common';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { RunRepository, type RunRef } from '../repositories/run.repository';
import { QueueRepository } from '../repositories/queue.repository';
import { ResultsStreamRepository } from '../repositories/results-stream.repository';
import { RunLifecycleService } from './run-lifecycle.service';

export interface SweepResult {
  missed: RunRef[];
  silent: RunRef[];
  unconfirmedCancels: RunRef[];
  completedJobs: string[];
}

/**
 * Ends runs no daemon will ever end: those no host started before their start deadline (`missed`),
 * those whose host went quiet past their end deadline (`timed_out`), and those of a cancelled job
 * whose host never confirmed the cancel. Without it, a dead host would keep its jobs running
 * forever. Every deadline is pushed back by how far ingest lags behind the results stream: a
 * report that is written but not read yet is not a host's silence.
 */
@Injectable()
export class ReaperService {
  private readonly logger = new Logger('Reaper');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(ResultsStreamRepository) private readonly stream: ResultsStreamRepository,
    @Inject(RunLifecycleService) private readonly lifecycle: RunLifecycleService,
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
    const lagMs = await this.stream.ingestLagMs(now.getTime());
    const before = (seconds: number) => new Date(now.getTime() - seconds * 1000 - lagMs);
    const missed = await this.runs.queuedPastStartDeadline(before(this.config.missedSlackSeconds));
    const silent = await this.runs.takenPastEndDeadline(before(this.config.silenceSlackSeconds));
    // A host told to cancel detaches within a second; past the job's grace and the slack, it is not listening.
    const unconfirmedCancels = await this.runs.unconfirmedCancels(before(this.config.silenceSlackSeconds));
    const ended = await this.lifecycle.transaction((transitions) =>
      transitions.apply([
        ...missed.map((r) => ({ runId: r.id, state: 'missed' as const, at: now, error: `host ${r.hostId} did not start the run before its start deadline` })),
        ...silent.map((r) => ({ runId: r.id, state: 'timed_out' as const, at: now, error: `host ${r.hostId} stopped reporting` })),
        ...unconfirmedCancels.map((r) => ({ runId: r.id, state: 'cancelled' as const, at: now, error: `host ${r.hostId} did not confirm the cancel` })),
      ]),
    );
    const endedIds = new Set(ended.map((c) => c.id));
    // Out of the host queues with them, so a daemon coming back does not start a run given up on.
    const withdrawn = [...missed, ...silent].filter((r) => endedIds.has(r.id));
    if (withdrawn.length > 0) {
      await this.queues
        .withdraw(
          withdrawn.map((r) => ({ runId: r.id, hostId: r.hostId })),
          'the API gave up on this run',
        )
        .catch((error: Error) => this.logger.warn(`could not withdraw ${withdrawn.length} runs from their queues: ${error.message}`));
    }
    for (const run of missed) if (endedIds.has(run.id)) this.logger.warn(`run ${run.id}: host ${run.hostId} did not start it before its deadline`);
    for (const run of silent) if (endedIds.has(run.id)) this.logger.warn(`run ${run.id}: host ${run.hostId} stopped reporting`);
    const completedJobs = await this.lifecycle.completeStragglers();
    return { missed, silent, unconfirmedCancels, completedJobs };
  }
}
