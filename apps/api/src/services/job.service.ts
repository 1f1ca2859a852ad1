import { randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import {
  DEFAULT_EVENTS_PER_SECOND,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_MAP_MEMORY_BYTES,
  DEFAULT_MAX_EVENTS_PER_RUN,
  DEFAULT_OVERHEAD_BUDGET_PERCENT,
  DEFAULT_OVERHEAD_WINDOW_MS,
  MAX_EVENTS_PER_SECOND,
  MAX_MAP_MEMORY_BYTES,
  MAX_OVERHEAD_BUDGET_PERCENT,
  programLabel,
  type CreateJobRequest,
  type JobView,
  type RunDispatch,
} from '@fleettrace/contracts';
import { API_CONFIG, PROGRAM_CATALOG } from '../tokens';
import type { ApiConfig } from '../config';
import type { ProgramCatalog } from './program-catalog';
import type { AuthContext } from './auth.service';
import { planTargets } from './target-planner';
import { unsupportedReason, type ProgramRequirements } from './capability-check';
import { mapJob } from '../dtos/job.dto';
import { describeIssue } from '../utils/describe-issue';
import { DatabaseRepository } from '../repositories/database.repository';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository, type NewRun } from '../repositories/run.repository';
import { HostRepository } from '../repositories/host.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { QueueRepository } from '../repositories/queue.repository';

@Injectable()
export class JobService {
  private readonly logger = new Logger('Jobs');

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PROGRAM_CATALOG) private readonly catalog: ProgramCatalog,
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
  ) {}

  /**
   * Validates against policy and the catalog, plans the hosts, stores the job with one queued run per
   * host, and only then hands the runs to the hosts' queues: a daemon can never take a run the
   * database does not know. If the hand-off fails, the runs end `failed` with the reason.
   */
  async create(auth: AuthContext, request: CreateJobRequest): Promise<JobView> {
    if (request.durationSeconds > this.config.maxDurationSeconds) {
      throw new BadRequestException(`durationSeconds must be at most ${this.config.maxDurationSeconds} s`);
    }
    const params = this.validateProgram(request);
    const limits = this.runLimits(request);
    const now = Date.now();
    const hosts = await this.hosts.list();
    const plan = planTargets(request.targets, hosts, now);
    if ('error' in plan) throw new BadRequestException(plan.error);
    const needs = this.requirements(request);
    const unsupported = new Map(
      hosts.flatMap((host) => {
        const reason = plan.hostIds.includes(host.id) ? unsupportedReason(host, needs) : undefined;
        return reason ? [[host.id, reason] as const] : [];
      }),
    );

    const jobId = randomUUID();
    const startDeadline = now + this.config.startDeadlineSeconds * 1000;
    const runs: NewRun[] = plan.hostIds.map((hostId) => ({
      id: randomUUID(),
      jobId,
      hostId,
      startDeadline: new Date(startDeadline),
      queuedAt: new Date(now),
    }));
    await this.database.transaction(async (tx) => {
      await this.jobs.insert(tx, {
        id: jobId,
        program: request.program,
        params,
        targets: request.targets,
        durationSeconds: request.durationSeconds,
        state: 'running',
        createdBy: auth.tokenName,
        createdAt: new Date(now),
        finishedAt: null,
      });
      await this.runs.insertMany(tx, runs);
      await this.audit.insert(tx, {
        actor: auth.tokenName,
        action: 'job.create',
        subject: jobId,
        detail: {
          program: programLabel(request.program),
          hostIds: plan.hostIds,
          durationSeconds: request.durationSeconds,
          ...(request.limits ? { limits: request.limits } : {}),
        },
      });
      // Hosts that reported they cannot run the program answer at once instead of failing late.
      for (const run of runs) {
        const error = unsupported.get(run.hostId);
        if (error) await this.runs.advance(tx, { runId: run.id, state: 'unsupported', at: new Date(now), error });
      }
      if (unsupported.size === runs.length) await this.jobs.completeIfFinished(tx, [jobId]);
    });

    const dispatches: RunDispatch[] = runs.filter((run) => !unsupported.has(run.hostId)).map((run) => ({
      runId: run.id,
      jobId,
      hostId: run.hostId,
      program: request.program,
      params,
      durationSeconds: request.durationSeconds,
      startDeadline,
      limits,
    }));
    try {
      if (dispatches.length > 0) await this.queues.dispatch(jobId, dispatches);
    } catch (error) {
      const reason = `could not enqueue the run: ${(error as Error).message}`;
      this.logger.error(`job ${jobId}: ${reason}`);
      await this.runs.failQueued(
        dispatches.map((d) => d.runId),
        reason,
      );
      await this.database.transaction((tx) => this.jobs.completeIfFinished(tx, [jobId]));
    }
    return this.get(jobId);
  }

  async get(jobId: string): Promise<JobView> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new NotFoundException(`job ${jobId} not found`);
    return mapJob(job, await this.runs.listByJob(jobId));
  }

  /** The run limits every host applies: the job's overrides (capped by server policy) over the defaults. */
  private runLimits(request: CreateJobRequest): RunDispatch['limits'] {
    const policy = {
      maxMapMemoryBytes: MAX_MAP_MEMORY_BYTES,
      maxEventsPerSecond: MAX_EVENTS_PER_SECOND,
      maxOverheadBudgetPercent: MAX_OVERHEAD_BUDGET_PERCENT,
      ...this.config.limitsPolicy,
    };
    const asked = request.limits ?? {};
    if (asked.mapMemoryBytes !== undefined && asked.mapMemoryBytes > policy.maxMapMemoryBytes) {
      throw new BadRequestException(`limits.mapMemoryBytes must be at most ${policy.maxMapMemoryBytes} bytes`);
    }
    if (asked.eventsPerSecond !== undefined && asked.eventsPerSecond > policy.maxEventsPerSecond) {
      throw new BadRequestException(`limits.eventsPerSecond must be at most ${policy.maxEventsPerSecond}`);
    }
    if (asked.overheadBudgetPercent !== undefined && asked.overheadBudgetPercent > policy.maxOverheadBudgetPercent) {
      throw new BadRequestException(`limits.overheadBudgetPercent must be at most ${policy.maxOverheadBudgetPercent}`);
    }
    // Defaults never exceed the policy either: an operator's lower ceiling lowers them too.
    return {
      graceSeconds: DEFAULT_GRACE_SECONDS,
      maxEventsPerOutput: DEFAULT_MAX_EVENTS_PER_RUN,
      mapMemoryBytes: asked.mapMemoryBytes ?? Math.min(DEFAULT_MAP_MEMORY_BYTES, policy.maxMapMemoryBytes),
      eventsPerSecond: asked.eventsPerSecond ?? Math.min(DEFAULT_EVENTS_PER_SECOND, policy.maxEventsPerSecond),
      overheadBudgetPercent: asked.overheadBudgetPercent ?? Math.min(DEFAULT_OVERHEAD_BUDGET_PERCENT, policy.maxOverheadBudgetPercent),
      overheadWindowMs: DEFAULT_OVERHEAD_WINDOW_MS,
    };
  }

  /** What a host must have to run the job's program, by program kind. */
  private requirements(request: CreateJobRequest): ProgramRequirements {
    if (typeof request.program === 'string') {
      const program = this.catalog.get(request.program);
      return { catalogName: request.program, kernel: program?.requires ?? { attachTypes: [] }, tools: [] };
    }
    return request.program.kind === 'bpftrace'
      ? { kernel: { attachTypes: [] }, tools: ['bpftrace'] }
      : // A C source is compiled on the host and relocated (CO-RE) against its kernel's BTF.
        { kernel: { attachTypes: [], btf: true }, tools: ['clang'] };
  }

  /** The program must be in the catalog and its parameters must pass its schema; returns them with defaults. */
  private validateProgram(request: CreateJobRequest): Record<string, unknown> {
    // bpftrace scripts and C sources were checked by the request schema; parameters are a catalog notion.
    if (typeof request.program !== 'string') {
      if (Object.keys(request.params).length > 0) {
        throw new BadRequestException(`params apply to catalog programs only; a ${request.program.kind} program takes none`);
      }
      return {};
    }
    const program = this.catalog.get(request.program);
    if (!program) {
      const known = [...this.catalog.names()].sort().join(', ');
      throw new BadRequestException(`unknown program "${request.program}" (known: ${known})`);
    }
    const parsed = program.params.safeParse(request.params);
    if (!parsed.success) {
      throw new BadRequestException(describeIssue(parsed.error.issues[0], request.params, { root: 'params', subject: 'params' }));
    }
    return parsed.data as Record<string, unknown>;
  }
}
