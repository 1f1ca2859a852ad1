import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { z } from 'zod';
import {
  runDeadlines,
  FAILED_RUN_STATES,
  ROLLOUT_QUEUE,
  ROLLOUT_STEP_JOB_NAME,
  failureLimit,
  isTerminalRunState,
  type UnsignedRunDispatch,
} from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { OnJob } from '../decorators/on-job.decorator';
import { HostRepository } from '../repositories/host.repository';
import { JobRepository, type JobEvent, type JobRecord } from '../repositories/job.repository';
import { RunRepository, type RunRecord, type RunStateChange } from '../repositories/run.repository';
import { EnqueueError, QueueRepository } from '../repositories/queue.repository';
import { DatabaseRepository, type TxClient } from '../repositories/database.repository';
import { stageName } from '../utils/rollout-plan';
import { RunLifecycleService, type LifecycleOutcome } from './run-lifecycle.service';
import { runTraceparent } from '../telemetry/trace-ids';
import { signDispatch } from '../utils/dispatch-signer';

const StepData = z.object({ jobId: z.guid() });

/** What one step decided: the runs it released into their queues, and when to look again. */
interface StepDecision {
  release: RunRecord[];
  /** Epoch ms of the next timed step (the next batch's start), if one is due. */
  nextStepAt?: number;
}

/**
 * Releases a job's runs into their hosts' queues, stage by stage: at once for a job without a
 * rollout; canaries first, the rest only once every canary is tracing; later batches every
 * `batchIntervalSeconds`; and it stops the rollout (the pending runs end `cancelled`) when a canary
 * fails or failures pass `maxFailures`. Each step re-reads the job under its row lock, so steps
 * that race (two API processes, a timer and a run's report) decide once.
 */
@Injectable()
export class RolloutService implements OnModuleInit {
  private readonly logger = new Logger('Rollout');

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(RunLifecycleService) private readonly lifecycle: RunLifecycleService,
  ) {}

  onModuleInit(): void {
    this.lifecycle.onCommitted((outcome) => this.onRunsChanged(outcome));
  }

  @OnJob({ queue: ROLLOUT_QUEUE, name: ROLLOUT_STEP_JOB_NAME })
  async handleStep(data: unknown): Promise<void> {
    await this.step(StepData.parse(data).jobId);
  }

  /** Decides and does what is due for the job now. Safe to call any time, any number of times. */
  async step(jobId: string, now = Date.now()): Promise<void> {
    const decision = await this.lifecycle.transaction(async (transitions) => {
      const job = await this.jobs.lock(transitions.tx, jobId);
      if (!job || job.state === 'completed' || job.cancelledAt) return undefined;
      const runs = await this.runs.listByJob(jobId, transitions.tx);
      const decided = decide(job, runs, now, await this.lastReleaseAt(jobId, transitions.tx));
      if (decided.stop) {
        const pending = runs.filter((r) => r.state === 'pending');
        await transitions.apply(pending.map((r) => ({ runId: r.id, state: 'cancelled', at: new Date(now), error: decided.stop!.reason })));
        await transitions.record(jobId, [decided.stop.event]);
        return undefined;
      }
      if (decided.events.length > 0) await transitions.record(jobId, decided.events);
      if (decided.release.length === 0) return { release: [], nextStepAt: decided.nextStepAt } satisfies StepDecision;
      // Each run's deadlines, once, stored on it: its host's start allowance grows with what that host measured of its start.
      const timings = await this.hosts.startTimings(transitions.tx, [...new Set(decided.release.map((r) => r.hostId))]);
      const toRelease = decided.release.map((r) => {
        const d = runDeadlines(now, this.config.startDeadlineSeconds, job, timings.get(r.hostId));
        return { runId: r.id, deadlines: { startDeadline: new Date(d.startDeadline), endDeadline: new Date(d.endDeadline) } };
      });
      const released = new Set((await transitions.release(toRelease)).map((r) => r.id));
      return { release: decided.release.filter((r) => released.has(r.id)), nextStepAt: decided.nextStepAt } satisfies StepDecision;
    });
    if (!decision) return;
    if (decision.release.length > 0) await this.enqueue(jobId, decision.release);
    if (decision.nextStepAt !== undefined) {
      await this.queues.requestRolloutStep(jobId, Math.max(0, decision.nextStepAt - Date.now()), `at-${decision.nextStepAt}`);
    }
  }

  private async enqueue(jobId: string, released: readonly RunRecord[]): Promise<void> {
    const { job, runs } = await this.database.snapshot(async (tx) => ({ job: (await this.jobs.findById(jobId, tx))!, runs: await this.runs.listByJob(jobId, tx) }));
    const byId = new Map(runs.map((r) => [r.id, r]));
    const dispatches = released.map((run) => signDispatch(this.config.dispatchSigningKey, dispatchOf(job, byId.get(run.id)!)));
    try {
      await this.queues.dispatch(dispatches);
    } catch (error) {
      if (!(error instanceof EnqueueError)) throw error;
      const reason = `could not enqueue the run: ${error.message}`;
      this.logger.error(`job ${jobId}: ${reason}`);
      await this.lifecycle.transaction((transitions) =>
        transitions.apply(dispatches.map((d): RunStateChange => ({ runId: d.runId, state: 'failed', at: new Date(), error: reason }))),
      );
    }
  }

  /** A rollout job whose run started or ended may have a stage to release or a limit to enforce. */
  private async onRunsChanged(outcome: LifecycleOutcome): Promise<void> {
    const relevant = outcome.changes.filter((c) => c.state === 'running' || isTerminalRunState(c.state)).map((c) => c.jobId);
    const waiting = await this.jobsWithPendingRuns([...new Set(relevant)]);
    for (const jobId of waiting) await this.queues.requestRolloutStep(jobId);
  }

  private async jobsWithPendingRuns(jobIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const { rows } = await this.database.pool.query<{ job_id: string }>(
      `SELECT DISTINCT job_id FROM runs WHERE job_id = ANY($1::uuid[]) AND state = 'pending'`,
      [jobIds],
    );
    return rows.map((r) => r.job_id);
  }

  /** Read in the step's transaction: a second connection taken while holding one starves the pool under a burst. */
  private async lastReleaseAt(jobId: string, tx: TxClient): Promise<number | undefined> {
    const events = await this.jobs.eventsOf(jobId, tx);
    const releases = events.filter((e) => e.kind === 'stage_released');
    return releases.length > 0 ? releases[releases.length - 1]!.at.getTime() : undefined;
  }
}

/**
 * Hosts a timeline message names before "and N more". A release to 1,000 hosts named each of them
 * twice, in its message and its detail: 33 KB of a 74 KB job view, sent to every poller of the job.
 */
const NAMED_HOSTS = 10;

function namedHosts(runs: readonly RunRecord[]): string {
  const names = runs.slice(0, NAMED_HOSTS).map((r) => r.hostName).join(', ');
  return runs.length > NAMED_HOSTS ? `${names} and ${runs.length - NAMED_HOSTS} more` : names;
}

export function dispatchOf(job: JobRecord, run: RunRecord): Omit<UnsignedRunDispatch, 'programSha256'> {
  return {
    runId: run.id,
    jobId: job.id,
    hostId: run.hostId,
    program: job.program,
    params: job.params,
    durationSeconds: job.durationSeconds,
    startDeadline: run.startDeadline!.getTime(),
    endDeadline: run.endDeadline!.getTime(),
    limits: job.limits,
    ...(job.programPolicy ? { policy: job.programPolicy } : {}),
    traceparent: runTraceparent(job.id, run.id),
    ...(job.snapshotSeconds ? { snapshotSeconds: job.snapshotSeconds } : {}),
  };
}

interface Decision {
  release: RunRecord[];
  events: JobEvent[];
  nextStepAt?: number;
  stop?: { reason: string; event: JobEvent };
}

/**
 * The rollout's rule, from the job and its runs alone. Stages are released in order; stage 0 at
 * once; after a canary stage, the next only when every canary started (reached `running`); after a
 * batch, the next `batchIntervalSeconds` after it was released. A canary that ended without
 * starting, or failed, stops the rollout; so do more failed runs than `maxFailures`.
 */
export function decide(job: JobRecord, runs: readonly RunRecord[], now: number, lastReleaseAt: number | undefined): Decision {
  const at = new Date(now);
  const rollout = job.rollout;
  const stages = [...new Set(runs.map((r) => r.stage))].sort((a, b) => a - b);
  const pending = runs.filter((r) => r.state === 'pending');
  if (pending.length === 0) return { release: [], events: [] };
  const nextStage = Math.min(...pending.map((r) => r.stage));
  const stageCount = stages.length;
  const hasCanary = (rollout?.canary ?? 0) > 0;
  const released = runs.filter((r) => r.startDeadline !== null);

  if (hasCanary && nextStage > 0) {
    const canaries = runs.filter((r) => r.stage === 0);
    const failed = canaries.find((r) => FAILED_RUN_STATES.has(r.state) || (isTerminalRunState(r.state) && r.startedAt === null));
    if (failed) {
      const reason = `canary failed on ${failed.hostName}: ${failed.error ?? failed.state}`;
      return { release: [], events: [], stop: { reason, event: { at, kind: 'canary_failed', message: reason, detail: { hostId: failed.hostId, runId: failed.id, state: failed.state } } } };
    }
  }

  const failures = released.filter((r) => FAILED_RUN_STATES.has(r.state)).length;
  const runnable = runs.filter((r) => r.startDeadline !== null || r.state === 'pending').length;
  const limit = failureLimit(rollout?.maxFailures, runnable);
  if (failures > limit) {
    const reason = `rollout stopped: ${failures} failed runs exceed maxFailures ${String(rollout!.maxFailures)}`;
    return { release: [], events: [], stop: { reason, event: { at, kind: 'rollout_stopped', message: reason, detail: { failures, limit } } } };
  }

  const events: JobEvent[] = [];
  if (nextStage > 0) {
    if (hasCanary && nextStage === 1) {
      const canaries = runs.filter((r) => r.stage === 0);
      if (canaries.some((r) => r.startedAt === null)) return { release: [], events: [] };
      events.push({ at, kind: 'canary_passed', message: `every canary is tracing: ${namedHosts(canaries)}`, detail: { hosts: canaries.map((r) => r.hostId) } });
    } else {
      const due = (lastReleaseAt ?? now) + (rollout?.batchIntervalSeconds ?? 0) * 1000;
      if (now < due) return { release: [], events: [], nextStepAt: due };
    }
  }
  const release = pending.filter((r) => r.stage === nextStage);
  const name = stageName(nextStage, stageCount, hasCanary);
  events.push({
    at,
    kind: 'stage_released',
    message: `dispatched ${name} to ${release.length} ${release.length === 1 ? 'host' : 'hosts'}: ${namedHosts(release)}`,
    // Which hosts: the job's runs of this stage (each run has its stage), not a list here (see NAMED_HOSTS).
    detail: { stage: nextStage, hostCount: release.length },
  });
  const later = pending.some((r) => r.stage > nextStage);
  const nextStepAt = later && !(hasCanary && nextStage === 0) ? now + (rollout?.batchIntervalSeconds ?? 0) * 1000 : undefined;
  return { release, events, nextStepAt };
}
