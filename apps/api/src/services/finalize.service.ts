import { Inject, Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { FINALIZE_JOB_NAME, FINALIZE_QUEUE, isTerminalRunState } from '@fleettrace/contracts';
import { OnJob } from '../decorators/on-job.decorator';
import { RetryLater } from '../utils/retry-later';
import { DatabaseRepository } from '../repositories/database.repository';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository } from '../repositories/run.repository';

const FinalizeData = z.object({ jobId: z.guid() });
/** Ingest may still be writing the last summaries when the queue says every run is done. */
export const FINALIZE_RETRY_MS = 2000;

@Injectable()
export class FinalizeService {
  private readonly logger = new Logger('Finalize');

  constructor(
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
  ) {}

  /**
   * Runs once every host's run job left its queue. Waits until Postgres agrees every run ended
   * (the reaper guarantees they all do), then completes the job.
   */
  @OnJob({ queue: FINALIZE_QUEUE, name: FINALIZE_JOB_NAME })
  async finalize(data: unknown): Promise<void> {
    const { jobId } = FinalizeData.parse(data);
    const runs = await this.runs.listByJob(jobId);
    const unfinished = runs.filter((run) => !isTerminalRunState(run.state)).length;
    if (unfinished > 0) throw new RetryLater(FINALIZE_RETRY_MS, `job ${jobId} has ${unfinished} runs still in progress`);
    const completed = await this.database.transaction((tx) => this.jobs.completeIfFinished(tx, [jobId]));
    if (completed.length > 0) this.logger.log(`job ${jobId} completed`);
    // Exporting the merged results to OpenTelemetry belongs here, once the exporter exists
    // (ARCHITECTURE.md: finalize → OTLP). It is deliberately not stubbed.
  }
}
