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

/**
 * The advisory lock under which a step counts its hosts' free run slots and releases into them.
 * One lock, not one per host: a step of a 1,000-host job would take 1,000 locks, past
 * max_locks_per_transaction's share; the section it guards is one query and one update.
 */
export const RUN_SLOTS_LOCK = 0x66747273; // 'ftrs'

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
      const { tx } = transitions;
      const job = await this.jobs.lock(tx, jobId);
      if (!job || job.state === 'completed' || job.cancelledAt) return undefined;
      const runs = await this.runs.listByJob(jobId, tx);
      const pendingHosts = [...new Set(runs.filter((r) => r.state === 'pending').map((r) => r.hostId))];
      if (pendingHosts.length === 0) return undefined;
      // Free slots are counted and taken under one lock, held to commit: two jobs' steps releasing
      // onto one host would otherwise both count its last slot free. Taken after the job's row lock,
      // as every step does, so steps of two jobs cannot wait for each other in a cycle.
      await tx.query('SELECT pg_advisory_xact_lock($1)', [RUN_SLOTS_LOCK]);
      const capacity: Capacity = { freeSlots: await this.hosts.freeRunSlots(tx, pendingHosts), slotWaitMs: this.config.slotWaitSeconds * 1000 };
      const decided = decide(job, runs, now, await this.stageReleases(jobId, tx), capacity);
      if (decided.stop) {
        const pending = runs.filter((r) => r.state === 'pending');
        await transitions.apply(pending.map((r) => ({ runId: r.id, state: 'cancelled', at: new Date(now), error: decided.stop!.reason })));
        await transitions.record(jobId, [decided.stop.event]);
        return undefined;
      }
      if (decided.expire.length > 0) {
        const error = `waited over ${this.config.slotWaitSeconds} s for a free run slot on its host: every slot was taken by other runs`;
        await transitions.apply(decided.expire.map((r) => ({ runId: r.id, state: 'missed', at: new Date(now), error })));
      }
      if (decided.events.length > 0) await transitions.record(jobId, decided.events);
      if (decided.release.length === 0) return { release: [], nextStepAt: decided.nextStepAt } satisfies StepDecision;
      // Each run's deadlines, once, stored on it: its host's start allowance grows with what that host
      // measured of its start. The start deadline counts from the release: a held run's from when its slot came.
      const timings = await this.hosts.startTimings(tx, [...new Set(decided.release.map((r) => r.hostId))]);
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

  /**
   * A rollout job whose run started or ended may have a stage to release or a limit to enforce; a
   * run that ended frees a slot on its host, which a held run of any job may take. Jobs waiting
   * on a host are asked to step oldest first; steps run a few at a time (API_QUEUE_CONCURRENCY),
   * so an older job's held run usually, not always, takes the slot first.
   */
  private async onRunsChanged(outcome: LifecycleOutcome): Promise<void> {
    const relevant = outcome.changes.filter((c) => c.state === 'running' || isTerminalRunState(c.state));
    const freed = outcome.changes.filter((c) => isTerminalRunState(c.state) && c.from !== 'pending').map((c) => c.hostId);
    const waiting = await this.jobsWithPendingRuns([...new Set(relevant.map((c) => c.jobId))], [...new Set(freed)]);
    for (const jobId of waiting) await this.queues.requestRolloutStep(jobId);
  }

  private async jobsWithPendingRuns(jobIds: readonly string[], hostIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0 && hostIds.length === 0) return [];
    // Pending runs are unfinished: runs_unfinished finds them without a scan of every run.
    const { rows } = await this.database.pool.query<{ job_id: string }>(
      `SELECT r.job_id FROM runs r JOIN jobs j ON j.id = r.job_id
       WHERE r.state = 'pending' AND r.finished_at IS NULL AND (r.job_id = ANY($1::uuid[]) OR r.host_id = ANY($2::text[]))
       GROUP BY r.job_id, j.created_at ORDER BY j.created_at`,
      [jobIds, hostIds],
    );
    return rows.map((r) => r.job_id);
  }

  /** When each stage of the job was released. Read in the step's transaction: a second connection taken while holding one starves the pool under a burst. */
  private async stageReleases(jobId: string, tx: TxClient): Promise<Map<number, number>> {
    const releases = new Map<number, number>();
    for (const event of await this.jobs.eventsOf(jobId, tx)) {
      const stage = event.detail['stage'];
      if (event.kind === 'stage_released' && typeof stage === 'number' && !releases.has(stage)) releases.set(stage, event.at.getTime());
    }
    return releases;
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
  /** Runs that waited for a free run slot longer than the slot wait: they end `missed`. */
  expire: RunRecord[];
  events: JobEvent[];
  nextStepAt?: number;
  stop?: { reason: string; event: JobEvent };
}

/** What the hosts of a job's pending runs can take now. */
export interface Capacity {
  /** Free run slots of the hosts that report a slot count (HostInfo.runSlots); a host not in it has no limit. */
  freeSlots: ReadonlyMap<string, number>;
  /** How long a run of a released stage may wait for a free slot before it ends `missed`. */
  slotWaitMs: number;
}

const NO_LIMIT: Capacity = { freeSlots: new Map(), slotWaitMs: Infinity };

/**
 * The rollout's rule, from the job, its runs, when each stage was released (its `stage_released`
 * event) and its hosts' free run slots alone. Stages are released in order; stage 0 at once; after
 * a canary stage, the next only when every canary started (reached `running`); after a batch, the
 * next `batchIntervalSeconds` after it was released. A canary that ended without starting, or
 * failed, stops the rollout; so do more failed runs than `maxFailures`.
 *
 * A released stage's run goes into its host's queue only while the host has a free run slot: one
 * queued behind a full host would wait out its start deadline there and end `missed` (the soak's
 * 40 jobs on hosts of 4 slots). The rest stay `pending`, held, and go as the host's runs end
 * (onRunsChanged steps their jobs); a run held longer than the slot wait ends `missed`.
 */
export function decide(
  job: JobRecord,
  runs: readonly RunRecord[],
  now: number,
  stageReleases: ReadonlyMap<number, number>,
  capacity: Capacity = NO_LIMIT,
): Decision {
  const nothing: Decision = { release: [], expire: [], events: [] };
  const at = new Date(now);
  const rollout = job.rollout;
  const stages = [...new Set(runs.map((r) => r.stage))].sort((a, b) => a - b);
  const pending = runs.filter((r) => r.state === 'pending');
  if (pending.length === 0) return nothing;
  const stageCount = stages.length;
  const hasCanary = (rollout?.canary ?? 0) > 0;
  const released = runs.filter((r) => r.startDeadline !== null);

  if (hasCanary) {
    const canaries = runs.filter((r) => r.stage === 0);
    const failed = canaries.find((r) => FAILED_RUN_STATES.has(r.state) || (isTerminalRunState(r.state) && r.startedAt === null));
    if (failed) {
      const reason = `canary failed on ${failed.hostName}: ${failed.error ?? failed.state}`;
      return { ...nothing, stop: { reason, event: { at, kind: 'canary_failed', message: reason, detail: { hostId: failed.hostId, runId: failed.id, state: failed.state } } } };
    }
  }

  const failures = released.filter((r) => FAILED_RUN_STATES.has(r.state)).length;
  const runnable = runs.filter((r) => r.startDeadline !== null || r.state === 'pending').length;
  const limit = failureLimit(rollout?.maxFailures, runnable);
  if (failures > limit) {
    const reason = `rollout stopped: ${failures} failed runs exceed maxFailures ${String(rollout!.maxFailures)}`;
    return { ...nothing, stop: { reason, event: { at, kind: 'rollout_stopped', message: reason, detail: { failures, limit } } } };
  }

  const free = new Map(capacity.freeSlots);
  const takeSlot = (run: RunRecord): boolean => {
    const slots = free.get(run.hostId);
    if (slots === undefined) return true;
    if (slots <= 0) return false;
    free.set(run.hostId, slots - 1);
    return true;
  };
  const release: RunRecord[] = [];
  const expire: RunRecord[] = [];
  const events: JobEvent[] = [];
  let nextStepAt: number | undefined;
  const stepAt = (t: number) => (nextStepAt = nextStepAt === undefined ? t : Math.min(nextStepAt, t));

  // Held runs of released stages first, oldest stage first: they have waited longest.
  const held = pending.filter((r) => stageReleases.has(r.stage)).sort((a, b) => a.stage - b.stage);
  for (const run of held) {
    const waitEnds = stageReleases.get(run.stage)! + capacity.slotWaitMs;
    if (takeSlot(run)) release.push(run);
    else if (now >= waitEnds) expire.push(run);
    else stepAt(waitEnds);
  }
  if (expire.length > 0) {
    const seconds = Math.round(capacity.slotWaitMs / 1000);
    events.push({
      at,
      kind: 'slot_wait_expired',
      message: `${expire.length} ${expire.length === 1 ? 'run' : 'runs'} waited over ${seconds} s for a free run slot, and missed: ${namedHosts(expire)}`,
      detail: { runCount: expire.length, slotWaitSeconds: seconds },
    });
  }

  const done = (): Decision => ({ release, expire, events, ...(nextStepAt !== undefined ? { nextStepAt } : {}) });
  const unreleased = pending.filter((r) => !stageReleases.has(r.stage));
  if (unreleased.length === 0) return done();
  const nextStage = Math.min(...unreleased.map((r) => r.stage));
  const lastReleaseAt = stageReleases.size > 0 ? Math.max(...stageReleases.values()) : undefined;
  if (nextStage > 0) {
    if (hasCanary && nextStage === 1) {
      const canaries = runs.filter((r) => r.stage === 0);
      if (canaries.some((r) => r.startedAt === null)) return done();
      events.push({ at, kind: 'canary_passed', message: `every canary is tracing: ${namedHosts(canaries)}`, detail: { hosts: canaries.map((r) => r.hostId) } });
    } else {
      const due = (lastReleaseAt ?? now) + (rollout?.batchIntervalSeconds ?? 0) * 1000;
      if (now < due) {
        stepAt(due);
        return done();
      }
    }
  }
  const stageRuns = unreleased.filter((r) => r.stage === nextStage);
  const ready = stageRuns.filter(takeSlot);
  release.push(...ready);
  const waiting = stageRuns.length - ready.length;
  const name = stageName(nextStage, stageCount, hasCanary);
  const hostWord = (n: number) => `${n} ${n === 1 ? 'host' : 'hosts'}`;
  events.push({
    at,
    kind: 'stage_released',
    message:
      waiting === 0
        ? `dispatched ${name} to ${hostWord(stageRuns.length)}: ${namedHosts(stageRuns)}`
        : `released ${name} to ${hostWord(stageRuns.length)}: ${namedHosts(stageRuns)}; ${waiting} of them wait for a free run slot on their host`,
    // Which hosts: the job's runs of this stage (each run has its stage), not a list here (see NAMED_HOSTS).
    detail: { stage: nextStage, hostCount: stageRuns.length, ...(waiting > 0 ? { waiting } : {}) },
  });
  if (waiting > 0) stepAt(now + capacity.slotWaitMs);
  const later = unreleased.some((r) => r.stage > nextStage);
  if (later && !(hasCanary && nextStage === 0)) stepAt(now + (rollout?.batchIntervalSeconds ?? 0) * 1000);
  return done();
}
