import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { CreateJobRequest, type JobPage, type JobPlanView, type JobView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import { JobService } from '../services/job.service';
import { Scope } from '../decorators/scope.decorator';
import type { AuthContext } from '../services/auth.service';
import { CancelJobRequest, CreateJobQuery, JobIdParam, JobListQuery } from '../dtos/job.dto';

@Controller('v1/jobs')
export class JobController {
  constructor(@Inject(JobService) private readonly jobs: JobService) {}

  /** Jobs, newest first, with their run-state counts; filtered and paged by an opaque cursor. */
  @Get()
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext, @Query(new ZodValidationPipe(JobListQuery, 'query')) query: JobListQuery): Promise<JobPage> {
    return this.jobs.list(auth, query);
  }

  /** Starts a job: one run per target host, released stage by stage. `?dryRun=true`: the plan only. */
  @Post()
  @Scope('program')
  create(
    @Auth() auth: AuthContext,
    @Query(new ZodValidationPipe(CreateJobQuery, 'query')) query: { dryRun: boolean },
    @Body(new ZodValidationPipe(CreateJobRequest)) request: CreateJobRequest,
  ): Promise<JobView | JobPlanView> {
    return query.dryRun ? this.jobs.dryRun(auth, request) : this.jobs.create(auth, request);
  }

  /** The job, the state of each host's run, and its timeline. */
  @Get(':id')
  @Scope('jobs:read')
  get(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string): Promise<JobView> {
    return this.jobs.getFor(auth, id);
  }

  /** Stops every run of the job; runs already stopped keep what they reported. */
  @Post(':id/cancel')
  @HttpCode(200)
  @Scope('jobs:cancel')
  cancel(
    @Auth() auth: AuthContext,
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Body(new ZodValidationPipe(CancelJobRequest)) body: { reason?: string },
  ): Promise<JobView> {
    return this.jobs.cancel(auth, id, body.reason);
  }
}
