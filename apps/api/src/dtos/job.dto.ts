import { z } from 'zod';
import { DEFAULT_MAX_EVENTS_PER_RUN, type JobView, type RunView } from '@fleettrace/contracts';
import type { JobRecord } from '../repositories/job.repository';
import type { RunRecord } from '../repositories/run.repository';

export const JobIdParam = z.guid({ error: 'job id must be a UUID' });

const EVENTS_LIMIT_MESSAGE = `eventsLimit must be a whole number from 0 to ${DEFAULT_MAX_EVENTS_PER_RUN}`;
export const DEFAULT_EVENTS_LIMIT = 1000;

export const ResultsQuery = z.object({
  eventsLimit: z
    .string({ error: EVENTS_LIMIT_MESSAGE })
    .regex(/^\d{1,9}$/, EVENTS_LIMIT_MESSAGE)
    .transform(Number)
    .pipe(z.number().max(DEFAULT_MAX_EVENTS_PER_RUN, EVENTS_LIMIT_MESSAGE))
    .default(DEFAULT_EVENTS_LIMIT),
});
export type ResultsQuery = z.infer<typeof ResultsQuery>;

/** `?output=NAME[&host=ID]`: one stacks output as folded text, merged over the fleet or of one host. */
export const FoldedQuery = z.object({
  output: z.string().min(1, 'output must name a stacks output'),
  host: z.string().min(1, 'host must be a host id').optional(),
});
export type FoldedQuery = z.infer<typeof FoldedQuery>;

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function mapRun(run: RunRecord): RunView {
  return {
    id: run.id,
    hostId: run.hostId,
    state: run.state,
    error: run.error,
    verifierLog: run.verifierLog,
    counters: run.counters,
    limits: run.limits,
    overhead: run.overhead,
    warnings: run.warnings,
    queuedAt: run.queuedAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
  };
}

export function mapJob(job: JobRecord, runs: readonly RunRecord[]): JobView {
  return {
    id: job.id,
    program: job.program,
    params: job.params,
    targets: job.targets,
    durationSeconds: job.durationSeconds,
    state: job.state,
    createdAt: job.createdAt.toISOString(),
    finishedAt: iso(job.finishedAt),
    runs: runs.map(mapRun),
  };
}
