import { randomUUID } from 'node:crypto';
import { BadRequestException, HttpException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import {
  SCHEDULES_QUEUE,
  SCHEDULE_FIRE_JOB_NAME,
  jobCreateScope,
  type CreateScheduleRequest,
  type ScheduleDetailView,
  type ScheduleFiringView,
  type ScheduleView,
  type UpdateScheduleRequest,
} from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { OnJob } from '../decorators/on-job.decorator';
import { DatabaseRepository } from '../repositories/database.repository';
import { ScheduleRepository, type FiringRecord, type ScheduleRecord } from '../repositories/schedule.repository';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository } from '../repositories/run.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { QueueRepository, type Repeat } from '../repositories/queue.repository';
import { mapJobListItem } from '../dtos/job.dto';
import { RetryLater } from '../utils/retry-later';
import { AuthService, type AuthContext } from './auth.service';
import { JobService } from './job.service';
import { programAudit } from '../utils/program-audit';

const FireData = z.object({ scheduleId: z.guid() });
const RECENT = 20;
/** Skipped firings recorded at most per catch-up, so a schedule every second down for a month writes a bounded amount. */
const MAX_SKIPPED_RECORDED = 1000;
/** How long a firing waits for its schedule's transaction to commit before taking the schedule for gone. */
const UNSEEN_SCHEDULE_GRACE_MS = 10_000;
const UNSEEN_SCHEDULE_RETRY_MS = 200;

/**
 * Recurring jobs: a schedule is a job template stored in PostgreSQL and fired through a BullMQ job
 * scheduler, so every API process may consume firings and each occurrence is claimed once (a row
 * per due time). Each firing is an ordinary job with the schedule's id. A firing delivered long
 * after it was due (no API process was up) is recorded as skipped with every occurrence missed
 * meanwhile, rather than run late or replayed in a burst.
 */
@Injectable()
export class ScheduleService {
  private readonly logger = new Logger('Schedules');

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(ScheduleRepository) private readonly schedules: ScheduleRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(JobService) private readonly jobService: JobService,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {}

  /**
   * The caller owns the schedule: it fires with the owner token's scopes and host selector as they
   * are at each firing, so revoking the token stops its schedules. Saving one needs the scope of
   * its program's kind as well as schedules:write.
   */
  async create(auth: AuthContext, request: CreateScheduleRequest): Promise<ScheduleDetailView> {
    await this.auth.require(auth, jobCreateScope(request.job.program), 'POST /v1/schedules');
    const { params } = this.jobService.check(request.job);
    const repeat = repeatOf(request);
    const now = new Date();
    const schedule: ScheduleRecord = {
      id: randomUUID(),
      name: request.name,
      cron: request.cron ?? null,
      timezone: request.cron ? (request.timezone ?? 'UTC') : null,
      everySeconds: request.everySeconds ?? null,
      job: request.job,
      overlap: request.overlap,
      enabled: request.enabled,
      createdBy: auth.tokenId,
      createdAt: now,
      updatedAt: now,
    };
    await this.database.transaction(async (tx) => {
      await this.schedules.insert(tx, schedule);
      const program = programAudit(request.job.program, params);
      await this.audit.insert(tx, {
        actor: auth.tokenId,
        action: 'schedule.create',
        subject: schedule.id,
        address: auth.address,
        programSha256: program.programSha256,
        detail: { name: schedule.name, ...describeRepeat(schedule), ...program.detail, targets: request.job.targets, durationSeconds: request.job.durationSeconds },
      });
      // In the transaction: a scheduler Redis refused leaves no schedule behind that never fires.
      if (schedule.enabled) await this.queues.upsertScheduler(schedule.id, repeat);
    });
    return this.get(schedule.id);
  }

  /** A host-limited token sees the schedules it owns; others see every schedule. */
  async list(auth: AuthContext): Promise<ScheduleView[]> {
    const schedules = (await this.schedules.list()).filter((s) => this.canSee(auth, s));
    const firings = await this.schedules.recentFirings(schedules.map((s) => s.id), 1);
    const last = new Map(firings.map((f) => [f.scheduleId, f]));
    return Promise.all(schedules.map(async (s) => this.view(s, last.get(s.id))));
  }

  async getFor(auth: AuthContext, id: string): Promise<ScheduleDetailView> {
    const schedule = await this.schedules.findById(id);
    if (!schedule || !this.canSee(auth, schedule)) throw new NotFoundException(`schedule ${id} not found`);
    return this.get(id);
  }

  private canSee(auth: AuthContext, schedule: ScheduleRecord): boolean {
    return !auth.hostSelector || schedule.createdBy === auth.tokenId;
  }

  async get(id: string): Promise<ScheduleDetailView> {
    const schedule = await this.schedules.findById(id);
    if (!schedule) throw new NotFoundException(`schedule ${id} not found`);
    const firings = await this.schedules.recentFirings([id], RECENT);
    const jobs = await this.jobs.list({ scheduleId: id }, RECENT);
    const counts = await this.database.snapshot((tx) => this.runs.stateCounts(jobs.map((j) => j.id), tx));
    return {
      ...(await this.view(schedule, firings[0])),
      firings: firings.map(firingView),
      jobs: jobs.map((job) => mapJobListItem(job, counts.get(job.id) ?? {})),
    };
  }

  /** Pause (`enabled: false`), resume, or edit; the scheduler follows in the same transaction. */
  async update(auth: AuthContext, id: string, patch: UpdateScheduleRequest): Promise<ScheduleDetailView> {
    await this.database.transaction(async (tx) => {
      const current = await this.schedules.lock(tx, id);
      if (!current || !this.canSee(auth, current)) throw new NotFoundException(`schedule ${id} not found`);
      const cron = patch.everySeconds !== undefined ? null : (patch.cron ?? current.cron);
      const next: ScheduleRecord = {
        ...current,
        name: patch.name ?? current.name,
        cron,
        timezone: cron ? (patch.timezone ?? current.timezone ?? 'UTC') : null,
        everySeconds: patch.cron !== undefined ? null : (patch.everySeconds ?? current.everySeconds),
        job: patch.job ?? current.job,
        overlap: patch.overlap ?? current.overlap,
        enabled: patch.enabled ?? current.enabled,
        updatedAt: new Date(),
      };
      if (patch.timezone !== undefined && !cron) throw new BadRequestException('timezone applies to a cron schedule only');
      // Whoever changes what a schedule runs, or when, or resumes it, must be allowed to run its
      // program themselves; renaming and pausing are harmless.
      const harmless = Object.keys(patch).every((key) => key === 'name' || (key === 'enabled' && patch.enabled === false));
      if (!harmless) await this.auth.require(auth, jobCreateScope(next.job.program), 'PATCH /v1/schedules/:id');
      const checked = patch.job ? this.jobService.check(patch.job) : undefined;
      const repeat = repeatOf({ cron: next.cron ?? undefined, timezone: next.timezone ?? undefined, everySeconds: next.everySeconds ?? undefined });
      await this.schedules.update(tx, next);
      const action = patch.enabled === false && current.enabled ? 'schedule.pause' : patch.enabled === true && !current.enabled ? 'schedule.resume' : 'schedule.update';
      const program = patch.job && checked ? programAudit(patch.job.program, checked.params) : undefined;
      await this.audit.insert(tx, {
        actor: auth.tokenId,
        action,
        subject: id,
        address: auth.address,
        programSha256: program?.programSha256 ?? null,
        detail: { changed: Object.keys(patch), ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}), ...(program ? { job: { ...program.detail, targets: patch.job!.targets } } : {}) },
      });
      if (next.enabled) await this.queues.upsertScheduler(id, repeat);
      else await this.queues.removeScheduler(id);
    });
    return this.get(id);
  }

  async remove(auth: AuthContext, id: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      const schedule = await this.schedules.lock(tx, id);
      if (!schedule || !this.canSee(auth, schedule)) throw new NotFoundException(`schedule ${id} not found`);
      await this.schedules.delete(tx, id);
      await this.audit.insert(tx, { actor: auth.tokenId, action: 'schedule.delete', subject: id, address: auth.address, detail: { name: schedule.name } });
      await this.queues.removeScheduler(id);
    });
  }

  /** One occurrence, claimed once across every API process. */
  @OnJob({ queue: SCHEDULES_QUEUE, name: SCHEDULE_FIRE_JOB_NAME })
  async fire(data: unknown, dueAtMs?: number): Promise<void> {
    const { scheduleId } = FireData.parse(data);
    const now = Date.now();
    const dueAt = new Date(dueAtMs ?? now);
    const schedule = await this.schedules.findById(scheduleId);
    if (!schedule || !schedule.enabled) {
      // The scheduler is upserted inside the transaction that creates or resumes the schedule,
      // and an interval scheduler fires at once: that firing can come before the commit. Removing
      // the scheduler then left a schedule that never fired (the fleet benchmark caught it), so a
      // fresh firing looks again shortly; one still finding no enabled schedule is from a
      // scheduler that outlived it (deleted or paused while Redis was away), which stops here.
      if (dueAtMs !== undefined && now - dueAtMs < UNSEEN_SCHEDULE_GRACE_MS) {
        throw new RetryLater(UNSEEN_SCHEDULE_RETRY_MS, `schedule ${scheduleId} is not visible (yet): looking again`);
      }
      await this.queues.removeScheduler(scheduleId).catch(() => undefined);
      return;
    }
    const lateMs = now - dueAt.getTime();
    const late = lateMs > this.config.scheduleLateSeconds * 1000;
    const claimed = await this.database.transaction(async (tx) => {
      if (!(await this.schedules.claimFiring(tx, scheduleId, dueAt))) return false;
      if (late) {
        const reason = `no API process was running when it was due (delivered ${Math.round(lateMs / 1000)} s late)`;
        await this.schedules.settleFiring(tx, { scheduleId, dueAt, outcome: 'skipped', jobId: null, reason });
        await this.schedules.recordSkipped(tx, scheduleId, occurrencesBetween(schedule, dueAt, new Date(now)), reason);
        return false;
      }
      if (schedule.overlap === 'skip') {
        const running = await this.schedules.runningJobOf(tx, scheduleId);
        if (running) {
          await this.schedules.settleFiring(tx, { scheduleId, dueAt, outcome: 'skipped', jobId: null, reason: `the previous job ${running} is still running` });
          return false;
        }
      }
      return true;
    });
    if (!claimed) return;
    let settled: FiringRecord;
    try {
      // The owner's token as it is now: revoked or expired, the firing is skipped and says so.
      const owner = await this.auth.ownerContext(schedule.createdBy);
      const job = await this.jobService.create(owner, schedule.job, { scheduleId });
      settled = { scheduleId, dueAt, outcome: 'started', jobId: job.id, reason: null };
    } catch (error) {
      // The fleet said no (no online host matches, say), or the job could not be stored: this
      // firing is skipped with why, and the schedule goes on.
      const reason = error instanceof HttpException ? error.message : `could not start the job: ${(error as Error).message}`;
      settled = { scheduleId, dueAt, outcome: 'skipped', jobId: null, reason };
      this.logger.warn(`schedule ${scheduleId}: firing due ${dueAt.toISOString()} skipped: ${reason}`);
    }
    await this.schedules.settleFiring(this.database.pool, settled);
  }

  private async view(schedule: ScheduleRecord, last: FiringRecord | undefined): Promise<ScheduleView> {
    const next = schedule.enabled ? await this.queues.nextFiring(schedule.id).catch(() => undefined) : undefined;
    return {
      id: schedule.id,
      name: schedule.name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      everySeconds: schedule.everySeconds,
      job: schedule.job,
      overlap: schedule.overlap,
      enabled: schedule.enabled,
      createdBy: schedule.createdBy,
      createdAt: schedule.createdAt.toISOString(),
      updatedAt: schedule.updatedAt.toISOString(),
      nextFiringAt: next !== undefined ? new Date(next).toISOString() : null,
      lastFiring: last ? firingView(last) : null,
    };
  }
}

function firingView(firing: FiringRecord): ScheduleFiringView {
  return { at: firing.dueAt.toISOString(), outcome: firing.outcome, jobId: firing.jobId, reason: firing.reason };
}

/** The BullMQ repeat of a schedule; a cron expression the parser refuses is a 400 naming it. */
function repeatOf(timing: { cron?: string; timezone?: string; everySeconds?: number }): Repeat {
  if (timing.everySeconds !== undefined) return { everyMs: timing.everySeconds * 1000 };
  try {
    CronExpressionParser.parse(timing.cron!, { tz: timing.timezone ?? 'UTC' });
  } catch (error) {
    throw new BadRequestException(`cron "${timing.cron}" is not a cron expression: ${(error as Error).message}`);
  }
  return { cron: timing.cron!, timezone: timing.timezone ?? 'UTC' };
}

function describeRepeat(schedule: ScheduleRecord): Record<string, unknown> {
  return schedule.cron ? { cron: schedule.cron, timezone: schedule.timezone } : { everySeconds: schedule.everySeconds };
}

/** Occurrences of the schedule after `from` and before `until` (both exclusive), at most MAX_SKIPPED_RECORDED. */
export function occurrencesBetween(schedule: Pick<ScheduleRecord, 'cron' | 'timezone' | 'everySeconds'>, from: Date, until: Date): Date[] {
  const found: Date[] = [];
  if (schedule.everySeconds !== null) {
    const step = schedule.everySeconds * 1000;
    for (let t = from.getTime() + step; t < until.getTime() && found.length < MAX_SKIPPED_RECORDED; t += step) found.push(new Date(t));
    return found;
  }
  const expression = CronExpressionParser.parse(schedule.cron!, { currentDate: from, endDate: until, tz: schedule.timezone ?? 'UTC' });
  while (found.length < MAX_SKIPPED_RECORDED && expression.hasNext()) {
    const next = expression.next().toDate();
    if (next.getTime() >= until.getTime()) break;
    found.push(next);
  }
  return found;
}
