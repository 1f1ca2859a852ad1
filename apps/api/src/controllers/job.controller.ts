import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { CreateJobRequest, type JobView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import { JobService } from '../services/job.service';
import type { AuthContext } from '../services/auth.service';
import { JobIdParam } from '../dtos/job.dto';

@Controller('v1/jobs')
export class JobController {
  constructor(@Inject(JobService) private readonly jobs: JobService) {}

  /** Starts a job: one run per target host. */
  @Post()
  create(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateJobRequest)) request: CreateJobRequest): Promise<JobView> {
    return this.jobs.create(auth, request);
  }

  /** The job and the state of each host's run. */
  @Get(':id')
  get(@Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string): Promise<JobView> {
    return this.jobs.get(id);
  }
}
