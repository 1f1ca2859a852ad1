import { Inject, Injectable, Logger } from '@nestjs/common';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { ResultRepository } from '../repositories/result.repository';

/** Rows one delete removes: a statement of a few tens of ms, whose locks and dead rows stay small. */
export const RETENTION_DELETE_BATCH = 10_000;
/** Runs whose events are deleted together, then marked done. */
const RUNS_PER_STEP = 100;
/** The least pause between two deletes; a slower delete is followed by as long a pause. */
const MIN_PAUSE_MS = 50;
const DAY_MS = 86_400_000;

/**
 * Deletes events past their retention: a run's events go once the run finished more than
 * `eventsRetentionDays` ago (a run lasts an hour at most, so that is its events' age too); its
 * outputs, summary and state stay. Deletes are bounded and paced: each removes at most
 * RETENTION_DELETE_BATCH rows and is followed by a pause at least as long as it took, so retention
 * uses at most half of one connection and ingest, which inserts other rows, never waits on it.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopping = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(ResultRepository) private readonly results: ResultRepository,
  ) {}

  start(): void {
    this.stopping = false;
    // Each sweep is scheduled after the previous one ends, so a slow one never overlaps the next.
    const next = () => {
      this.timer = setTimeout(() => {
        this.sweeping = this.sweep()
          .then((deleted) => {
            if (deleted > 0) this.logger.log(`deleted ${deleted} events past their retention`);
          })
          .catch((error: Error) => this.logger.error(`retention sweep failed: ${error.message}`))
          .finally(() => {
            this.sweeping = undefined;
            if (this.timer) next();
          });
      }, this.config.retentionIntervalMs);
    };
    next();
  }

  /** Stops between two deletes; what is left is deleted by the next start's sweeps. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** Deletes the events of every run that finished before the retention age; returns how many. */
  async sweep(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.eventsRetentionDays * DAY_MS);
    let deleted = 0;
    while (!this.stopping) {
      const runIds = await this.results.runsWithEventsFinishedBefore(cutoff, RUNS_PER_STEP);
      if (runIds.length === 0) break;
      for (;;) {
        const started = Date.now();
        const n = await this.results.deleteEventsOf(runIds, RETENTION_DELETE_BATCH);
        deleted += n;
        if (n < RETENTION_DELETE_BATCH) break;
        await sleep(Math.max(MIN_PAUSE_MS, Date.now() - started));
        if (this.stopping) return deleted;
      }
      await this.results.markEventsExpired(runIds, now);
    }
    return deleted;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
