import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CreateJobRequest, JobPage, JobPlanView, JobView, RunPage } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import { JobService } from '../services/job.service';
import { ifNoneMatchHits } from '../utils/etag';
import { Scope } from '../decorators/scope.decorator';
import type { AuthContext } from '../services/auth.service';
import { CancelJobRequest, CreateJobQuery, JobIdParam, JobListQuery, JobRunsQuery } from '../dtos/job.dto';

@Controller('v1/jobs')
export class JobController {
  constructor(@Inject(JobService) private readonly jobs: JobService) {}

  @Get()
  @ApiRoute({ summary: 'Jobs, newest first, with their run-state counts; filtered and paged by an opaque cursor.', responses: { 200: JobPage } })
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext, @Query(new ZodValidationPipe(JobListQuery, 'query')) query: JobListQuery): Promise<JobPage> {
    return this.jobs.list(auth, query);
  }

  @Post()
  @ApiRoute({
    summary: 'Starts a job: one run per target host, released stage by stage. `?dryRun=true`: the plan only.',
    description: 'With `?dryRun=true` the answer is the plan (a JobPlanView, `dryRun: true`) and nothing is created.',
    responses: { 201: z.union([JobView, JobPlanView]) },
  })
  @Scope('program')
  create(
    @Auth() auth: AuthContext,
    @Query(new ZodValidationPipe(CreateJobQuery, 'query')) query: { dryRun: boolean },
    @Body(new ZodValidationPipe(CreateJobRequest)) request: CreateJobRequest,
  ): Promise<JobView | JobPlanView> {
    return query.dryRun ? this.jobs.dryRun(auth, request) : this.jobs.create(auth, request);
  }

  @Get(':id')
  @ApiRoute({
    summary: 'The job, its failure summary, the first page of its runs (the rest: GET /v1/jobs/:id/runs), and its timeline.',
    description: 'Answers carry an ETag; a poller sending it back as If-None-Match gets 304 and no body while the view is unchanged.',
    responses: {
      200: JobView,
      304: {
        description: 'Not modified: the view is still the one whose ETag the request sent in If-None-Match. No body.',
        headers: { etag: { description: 'The current view\'s tag (the one sent).' } },
      },
    },
    errors: [404],
  })
  @Scope('jobs:read')
  async get(
    @Auth() auth: AuthContext,
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { json, etag } = await this.jobs.getJsonFor(auth, id);
    void reply.header('etag', etag).header('cache-control', 'no-cache');
    // Sent here, not returned: Nest would set its own 200 over the 304.
    if (ifNoneMatchHits(request.headers['if-none-match'], etag)) await reply.code(304).send();
    else await reply.type('application/json; charset=utf-8').send(json);
  }

  @Get(':id/runs')
  @ApiRoute({
    summary: "The job's runs, a page at a time (by stage, then host id), filtered by state and host; paged by an opaque cursor.",
    description: "The job view carries the first page and `runsPage.nextCursor`; pass it as `cursor` here for the rest. `state` takes one or more run states, comma-separated; `host` a host id or name.",
    responses: { 200: RunPage },
    errors: [404],
  })
  @Scope('jobs:read')
  runs(
    @Auth() auth: AuthContext,
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Query(new ZodValidationPipe(JobRunsQuery, 'query')) query: JobRunsQuery,
  ): Promise<RunPage> {
    return this.jobs.runsOf(auth, id, query);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Stops every run of the job; runs already stopped keep what they reported.',
    description: 'Cancelling twice is harmless; a completed job answers 409.',
    responses: { 200: JobView },
    errors: [404, 409],
  })
  @Scope('jobs:cancel')
  cancel(
    @Auth() auth: AuthContext,
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Body(new ZodValidationPipe(CancelJobRequest)) body: { reason?: string },
  ): Promise<JobView> {
    return this.jobs.cancel(auth, id, body.reason);
  }
}
