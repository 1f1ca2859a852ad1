import { randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import {
  DEFAULT_GRACE_SECONDS,
  DEFAULT_MAX_EVENTS_PER_RUN,
  type CreateJobRequest,
  type JobView,
  type RunDispatch,
} from '@fleettrace/contracts';
import { API_CONFIG, PROGRAM_CATALOG } from '../tokens';
import type { ApiConfig } from '../config';
import type { ProgramCatalog } from './program-catalog';
import type { AuthContext } from './auth.service';
import { planTargets } from './target-planner';
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
    const now = Date.now();
    const plan = planTargets(request.targets, await this.hosts.list(), now);
    if ('error' in plan) throw new BadRequestException(plan.error);

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
        detail: { program: request.program, hostIds: plan.hostIds, durationSeconds: request.durationSeconds },
      });
    });

    const dispatches: RunDispatch[] = runs.map((run) => ({
      runId: run.id,
      jobId,
      hostId: run.hostId,
      program: request.program,
      params,
      durationSeconds: request.durationSeconds,
      startDeadline,
      limits: { graceSeconds: DEFAULT_GRACE_SECONDS, maxEventsPerOutput: DEFAULT_MAX_EVENTS_PER_RUN },
    }));
    try {
      await this.queues.dispatch(jobId, dispatches);
    } catch (error) {
      const reason = `could not enqueue the run: ${(error as Error).message}`;
      this.logger.error(`job ${jobId}: ${reason}`);
      await this.runs.failQueued(
        runs.map((r) => r.id),
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

  /** The program must be in the catalog and its parameters must pass its schema; returns them with defaults. */
  private validateProgram(request: CreateJobRequest): Record<string, unknown> {
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
