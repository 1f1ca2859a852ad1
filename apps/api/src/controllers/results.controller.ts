import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import type { JobResultsView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ResultsService } from '../services/results.service';
import { FoldedQuery, JobIdParam, ResultsQuery } from '../dtos/job.dto';

@Controller('v1/jobs/:id/results')
export class ResultsController {
  constructor(@Inject(ResultsService) private readonly results: ResultsService) {}

  /** Per-host outputs and their fleet-wide merge. */
  @Get()
  get(
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Query(new ZodValidationPipe(ResultsQuery, 'query')) query: ResultsQuery,
  ): Promise<JobResultsView> {
    return this.results.get(id, query);
  }

  /** A stacks output as folded text for flamegraph.pl or speedscope: merged over the fleet, or one host's with `host`. */
  @Get('folded')
  @Header('content-type', 'text/plain; charset=utf-8')
  folded(
    @Param('id', new ZodValidationPipe(JobIdParam, 'job id')) id: string,
    @Query(new ZodValidationPipe(FoldedQuery, 'query')) query: FoldedQuery,
  ): Promise<string> {
    return this.results.folded(id, query);
  }
}
