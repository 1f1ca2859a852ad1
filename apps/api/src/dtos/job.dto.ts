import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { pageParams, timeParam } from './page-query';
import {
  JOB_STATES,
  JOB_VIEW_RUNS,
  MAX_RUNS_PAGE,
  RUN_STATES,
  normalizeTargets,
  sameTraceContext,
  traceContextOf,
  type JobListItem,
  type JobSummary,
  type JobView,
  type RunState,
  type RunTrace,
  type RunView,
  type RunsPageInfo,
  type TargetSelector,
  type TargetsV2,
} from '@fleettrace/contracts';
import type { JobListPosition, JobRecord } from '../repositories/job.repository';
import type { RunPosition, RunRecord } from '../repositories/run.repository';
import type { JobViewRecord } from '../repositories/job-view.repository';
import { inLifecycleOrder, summarizeFailures } from '../utils/failure-summary';
import { runTraceparent } from '../telemetry/trace-ids';

export const JobIdParam = z.guid({ error: 'job id must be a UUID' });

/** `?dryRun=true` on POST /v1/jobs: the plan, nothing created. */
export const CreateJobQuery = z
  .object({ dryRun: z.enum(['true', 'false'], { error: 'dryRun must be true or false' }).optional() }, { error: 'query must be an object' })
  .strict()
  .transform((q) => ({ dryRun: q.dryRun === 'true' }));

export const CancelJobRequest = z
  .object({ reason: z.string({ error: 'reason must be a string' }).max(500, 'reason must be at most 500 characters').optional() }, { error: 'request body must be a JSON object' })
  .strict()
  .optional()
  .transform((body) => body ?? {});

export const MAX_JOBS_PAGE = 200;
const DEFAULT_JOBS_PAGE = 50;

/** The filters of GET /v1/jobs; an unknown parameter is an error, not silently ignored. */
export const JobListQuery = z
  .object(
    {
      state: z.enum(JOB_STATES, { error: `state must be one of ${JOB_STATES.join(', ')}` }).optional(),
      program: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name, "bpftrace" or "c"').optional(),
      createdBy: z.string().min(1, 'createdBy must name a token').max(128, 'createdBy must be at most 128 characters').optional(),
      scheduleId: z.guid({ error: 'scheduleId must be a UUID' }).optional(),
      since: timeParam('since').optional(),
      until: timeParam('until').optional(),
      ...pageParams(MAX_JOBS_PAGE, DEFAULT_JOBS_PAGE),
    },
    { error: 'query must be an object' },
  )
  .strict();
export type JobListQuery = z.infer<typeof JobListQuery>;

/** The list position a page ends at, opaque to clients: base64url of its (created_at, id). */
export function encodeCursor(position: JobListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): JobListPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && typeof id === 'string' && z.guid().safeParse(id).success) {
      return { createdAt: new Date(createdAt), id };
    }
  } catch {
    // falls through to the error below
  }
  throw new BadRequestException('cursor must be a nextCursor from a previous page');
}

const RUN_STATES_MESSAGE = `state must be one or more of ${RUN_STATES.join(', ')}, comma-separated`;

/** The filters of GET /v1/jobs/:id/runs. `state` takes one state or several, comma-separated. */
export const JobRunsQuery = z
  .object(
    {
      state: z
        .string({ error: RUN_STATES_MESSAGE })
        .refine((text) => text.split(',').every((state) => (RUN_STATES as readonly string[]).includes(state)), RUN_STATES_MESSAGE)
        .transform((text) => text.split(',') as RunState[])
        .optional(),
      host: z.string().min(1, 'host must be a host id or name').max(253, 'host must be at most 253 characters').optional(),
      ...pageParams(MAX_RUNS_PAGE, JOB_VIEW_RUNS),
    },
    { error: 'query must be an object' },
  )
  .strict();
export type JobRunsQuery = z.infer<typeof JobRunsQuery>;

/** The run a page of runs ends at, opaque to clients: base64url of its (stage, host id, run id). */
export function encodeRunCursor(run: Pick<RunRecord, 'stage' | 'hostId' | 'id'>): string {
  return Buffer.from(JSON.stringify([run.stage, run.hostId, run.id])).toString('base64url');
}

export function decodeRunCursor(cursor: string): RunPosition {
  try {
    const [stage, hostId, runId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    if (Number.isInteger(stage) && typeof hostId === 'string' && typeof runId === 'string' && z.guid().safeParse(runId).success) {
      return { stage: stage as number, hostId, runId };
    }
  } catch {
    // falls through to the error below
  }
  throw new BadRequestException('cursor must be a nextCursor from a previous page of this job\'s runs');
}

/** A page read with one run more than asked: the extra one only says there is a next page. */
export function runPageOf(read: readonly RunRecord[], limit: number): { items: RunRecord[]; nextCursor: string | null } {
  const items = read.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: read.length > limit && last ? encodeRunCursor(last) : null };
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function mapRun(run: RunRecord): RunView {
  return {
    id: run.id,
    hostId: run.hostId,
    hostName: run.hostName,
    stage: run.stage,
    state: run.state,
    error: run.error,
    verifierLog: run.verifierLog,
    counters: run.counters,
    limits: run.limits,
    overhead: run.overhead,
    warnings: run.warnings,
    trace: runTrace(run),
    queuedAt: run.queuedAt.toISOString(),
    startDeadline: iso(run.startDeadline),
    endDeadline: iso(run.endDeadline),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
  };
}

function runTrace(run: RunRecord): RunTrace {
  const traceparent = runTraceparent(run.jobId, run.id);
  const ids = traceContextOf(traceparent)!;
  return {
    traceId: ids.traceId,
    spanId: ids.spanId,
    host:
      run.hostTraceparent === null
        ? null
        : { traceparent: run.hostTraceparent, continued: sameTraceContext(run.hostTraceparent, traceparent), spanId: run.hostSpanId },
  };
}

/** Jobs stored before targets had a V2 form keep their legacy JSON; clients see V2 alike. */
function targetsOf(job: JobRecord): TargetsV2 {
  return normalizeTargets(job.targets as TargetsV2 | TargetSelector);
}

/**
 * What the job view and the live stream's opening picture both say of a job's runs, from a read
 * with one run more than JOB_VIEW_RUNS (runPageOf): the counts by state, the failure summary, and
 * the first page with where the rest are.
 */
export function runsOverview(read: Pick<JobViewRecord, 'runStates' | 'failedRuns' | 'firstRuns'>): {
  runStates: Partial<Record<RunState, number>>;
  summary: JobSummary;
  firstRuns: RunRecord[];
  runsPage: RunsPageInfo;
} {
  const runStates = inLifecycleOrder(read.runStates);
  const summary = summarizeFailures(runStates, read.failedRuns);
  const page = runPageOf(read.firstRuns, JOB_VIEW_RUNS);
  return { runStates, summary, firstRuns: page.items, runsPage: { total: summary.hosts, nextCursor: page.nextCursor } };
}

export function mapJob(read: JobViewRecord): JobView {
  const { job, events } = read;
  const { runStates, summary, firstRuns, runsPage } = runsOverview(read);
  return {
    id: job.id,
    program: job.program,
    params: job.params,
    targets: targetsOf(job),
    durationSeconds: job.durationSeconds,
    rollout: job.rollout,
    snapshotSeconds: job.snapshotSeconds,
    state: job.state,
    createdBy: job.createdBy,
    createdAt: job.createdAt.toISOString(),
    finishedAt: iso(job.finishedAt),
    scheduleId: job.scheduleId,
    cancelled: job.cancelledAt ? { at: job.cancelledAt.toISOString(), by: job.cancelledBy ?? '', reason: job.cancelReason ?? '' } : null,
    runStates,
    summary,
    runs: firstRuns.map(mapRun),
    runsPage,
    events: events.map((e) => ({ at: e.at.toISOString(), kind: e.kind, message: e.message, detail: e.detail })),
  };
}

export function mapJobListItem(job: JobRecord, counts: Partial<Record<RunState, number>>): JobListItem {
  return {
    id: job.id,
    program: job.programLabel,
    state: job.state,
    durationSeconds: job.durationSeconds,
    createdBy: job.createdBy,
    createdAt: job.createdAt.toISOString(),
    finishedAt: iso(job.finishedAt),
    scheduleId: job.scheduleId,
    hosts: Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0),
    runStates: counts,
  };
}
