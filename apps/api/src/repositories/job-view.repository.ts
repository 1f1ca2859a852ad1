import { Inject, Injectable } from '@nestjs/common';
import type { RunState } from '@fleettrace/contracts';
import { DatabaseRepository } from './database.repository';
import { toRecord as jobRecordOf, type JobEvent, type JobRecord, type JobRow } from './job.repository';
import { runPageSql, toRecord as runRecordOf, type RunRecord, type RunRow } from './run.repository';
import { SUMMARIZED_FAILURE_STATES, type SummarizedRun } from '../utils/failure-summary';

/** What GET /v1/jobs/:id shows of a job, every part as of the same moment. */
export interface JobViewRecord {
  job: JobRecord;
  /** How many of its runs are in each state. */
  runStates: Map<RunState, number>;
  /** Its runs in SUMMARIZED_FAILURE_STATES (the ones whose causes the summary groups), in page order. */
  failedRuns: SummarizedRun[];
  /** Its first runs in page order (stage, host id, run id), as many as asked. */
  firstRuns: RunRecord[];
  /** Its timeline, oldest first. */
  events: JobEvent[];
}

/** A timestamp as row_to_json writes it: ISO 8601 with microseconds and an offset. */
type JsonTime<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

interface ViewRow {
  job: JsonTime<JobRow>;
  run_states: Array<[RunState, number]>;
  failed_runs: Array<[hostId: string, hostName: string | null, hostKernel: string | null, state: RunState, error: string | null]>;
  first_runs: Array<JsonTime<RunRow>>;
  events: Array<JsonTime<JobEvent>>;
}

/**
 * One statement, so one round trip and one snapshot (a statement sees the database as of its
 * start): the job, its run counts, its failed runs, its first page of runs and its timeline agree
 * with one another without a transaction around several queries. At 1,000 hosts, a job that is
 * running reads ~10 count rows and its first page, not a row per run. The first page is
 * RunRepository's page of runs (runPageSql, the one statement of a page: a column added to runs
 * reaches both): its records are the same as pageByJob's.
 */
const VIEW_SQL = `
SELECT json_build_object('job', row_to_json(j),
  'run_states', (SELECT coalesce(json_agg(json_build_array(c.state, c.n) ORDER BY c.state), '[]')
     FROM (SELECT state, count(*)::int AS n FROM runs WHERE job_id = j.id GROUP BY state) c),
  'failed_runs', (SELECT coalesce(json_agg(json_build_array(r.host_id, h.name, h.kernel_release, r.state, r.error) ORDER BY r.stage, r.host_id, r.id), '[]')
     FROM runs r LEFT JOIN hosts h ON h.id = r.host_id
    WHERE r.job_id = j.id AND r.state = ANY($2::text[])),
  'first_runs', (SELECT coalesce(json_agg(p ORDER BY p.stage, p.host_id, p.id), '[]')
     FROM (${runPageSql('r.job_id = j.id', '$3')}) p),
  'events', (SELECT coalesce(json_agg(json_build_object('at', e.at, 'kind', e.kind, 'message', e.message, 'detail', e.detail) ORDER BY e.id), '[]')
     FROM job_events e WHERE e.job_id = j.id))::text AS view
FROM jobs j WHERE j.id = $1`;

/**
 * A time from JSON. V8 keeps milliseconds and drops further digits, as pg's own timestamptz parser
 * (postgres-date) does: these records equal those the row-based reads return.
 */
const time = (text: string): Date => new Date(text);
const maybeTime = (text: string | null): Date | null => (text === null ? null : new Date(text));

@Injectable()
export class JobViewRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** The job as its view shows it, with its first `firstRuns` runs; undefined when there is no such job. */
  async read(jobId: string, firstRuns: number): Promise<JobViewRecord | undefined> {
    const text = await this.readText(jobId, firstRuns);
    return text === undefined ? undefined : this.parse(text);
  }

  /**
   * The view as the text PostgreSQL answers it with, for parse(): equal texts, equal views. A
   * polled job is mostly unchanged between reads, and a caller that kept what it made of the last
   * text can use it again (JobService). Undefined when there is no such job.
   */
  async readText(jobId: string, firstRuns: number): Promise<string | undefined> {
    // Named, so each connection parses it once, and after five runs PostgreSQL may keep one generic
    // plan: dashboards poll it, and under the fleet bench's load its parse and bind (planning) took
    // ~1 ms of every ~4.5 ms read (PostgreSQL's statement log).
    const { rows } = await this.database.pool.query<{ view: string }>({ name: 'job-view', text: VIEW_SQL, values: [jobId, SUMMARIZED_FAILURE_STATES, firstRuns] });
    return rows[0]?.view;
  }

  parse(text: string): JobViewRecord {
    return recordOf(JSON.parse(text) as ViewRow);
  }
}

function recordOf(row: ViewRow): JobViewRecord {
  const { job } = row;
  return {
    job: jobRecordOf({ ...job, created_at: time(job.created_at), finished_at: maybeTime(job.finished_at), cancelled_at: maybeTime(job.cancelled_at) }),
    runStates: new Map(row.run_states),
    failedRuns: row.failed_runs.map(([hostId, hostName, hostKernel, state, error]) => ({ hostId, hostName: hostName ?? hostId, hostKernel: hostKernel ?? '', state, error })),
    firstRuns: row.first_runs.map((run) =>
      runRecordOf({
        ...run,
        start_deadline: maybeTime(run.start_deadline),
        end_deadline: maybeTime(run.end_deadline),
        queued_at: time(run.queued_at),
        dispatched_at: maybeTime(run.dispatched_at),
        started_at: maybeTime(run.started_at),
        finished_at: maybeTime(run.finished_at),
      }),
    ),
    events: row.events.map((event) => ({ ...event, at: time(event.at) })),
  };
}
