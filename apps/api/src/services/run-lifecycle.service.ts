import { Inject, Injectable, Logger } from '@nestjs/common';
import { isTerminalRunState } from '@fleettrace/contracts';
import { DatabaseRepository, type TxClient } from '../repositories/database.repository';
import { JobRepository, type JobEvent } from '../repositories/job.repository';
import { RunRepository, type AppliedChange, type ReleasedRun, type RunRef, type RunStateChange } from '../repositories/run.repository';

/** What a transaction did to runs and jobs, handed to listeners once it committed. */
export interface LifecycleOutcome {
  changes: AppliedChange[];
  /** Jobs whose last run ended in this transaction. */
  completedJobs: string[];
}

export type LifecycleListener = (outcome: LifecycleOutcome) => Promise<void> | void;

/** Applies run state changes inside a transaction opened by RunLifecycleService.transaction. */
export interface RunTransitions {
  readonly tx: TxClient;
  /** Moves runs as the state machine allows; returns what moved. */
  apply(changes: readonly RunStateChange[]): Promise<AppliedChange[]>;
  /** Moves pending runs to `queued`, each with its deadlines (the caller then puts them in their queues). */
  release(released: readonly ReleasedRun[]): Promise<RunRef[]>;
  /** Adds to a job's timeline, committed with the rest. */
  record(jobId: string, events: readonly JobEvent[]): Promise<void>;
}

/**
 * The one path by which runs change state and jobs complete. Every change (a host's report, the
 * reaper, a cancel, a rollout decision, a plan that found a host unable) goes through a
 * transaction opened here; before it commits, every job whose runs have all ended is completed,
 * and after it commits, listeners (the rollout, live streams) hear what changed.
 */
@Injectable()
export class RunLifecycleService {
  private readonly logger = new Logger('RunLifecycle');
  private readonly listeners: LifecycleListener[] = [];

  constructor(
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
  ) {}

  onCommitted(listener: LifecycleListener): void {
    this.listeners.push(listener);
  }

  async transaction<T>(work: (transitions: RunTransitions) => Promise<T>): Promise<T> {
    const changes: AppliedChange[] = [];
    const touchedJobs = new Set<string>();
    const { result, completedJobs } = await this.database.transaction(async (tx) => {
      const transitions: RunTransitions = {
        tx,
        apply: async (wanted) => {
          const applied = await this.runs.advance(tx, wanted);
          for (const change of applied) {
            changes.push(change);
            if (isTerminalRunState(change.state)) touchedJobs.add(change.jobId);
          }
          return applied;
        },
        release: async (runs) => {
          const released = await this.runs.release(tx, runs);
          for (const run of released) changes.push({ ...run, from: 'pending', state: 'queued', error: null });
          return released;
        },
        record: (jobId, events) => this.jobs.addEvents(tx, jobId, events),
      };
      const result = await work(transitions);
      return { result, completedJobs: await this.complete(tx, [...touchedJobs]) };
    });
    if (changes.length > 0 || completedJobs.length > 0) await this.notify({ changes, completedJobs });
    return result;
  }

  /** Completes jobs whose runs all ended without a change being seen here (a crash in between): the reaper's safety net. */
  async completeStragglers(): Promise<string[]> {
    const candidates = await this.jobs.runningWithAllRunsEnded();
    if (candidates.length === 0) return [];
    const completedJobs = await this.database.transaction((tx) => this.complete(tx, candidates));
    if (completedJobs.length > 0) await this.notify({ changes: [], completedJobs });
    return completedJobs;
  }

  private async complete(tx: TxClient, jobIds: readonly string[]): Promise<string[]> {
    const completed = await this.jobs.completeIfFinished(tx, jobIds);
    for (const jobId of completed) {
      const counts = (await this.runs.stateCounts([jobId], tx)).get(jobId) ?? {};
      const summary = Object.entries(counts)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ');
      await this.jobs.addEvents(tx, jobId, [{ at: new Date(), kind: 'completed', message: `every run ended: ${summary}`, detail: { runStates: counts } }]);
    }
    return completed;
  }

  private async notify(outcome: LifecycleOutcome): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(outcome);
      } catch (error) {
        // What committed stays committed; a listener's failure is its own to retry.
        this.logger.error(`a listener failed after commit: ${(error as Error).message}`);
      }
    }
  }
}
