import { Inject, Injectable } from '@nestjs/common';
import {
  ACTIVE_RUN_STATES,
  RUN_STATES,
  TAKEN_RUN_STATES,
  type RunCounters,
  type RunLimitsReport,
  type RunOverhead,
  type RunState,
  type RunWarnings,
} from '@fleettrace/contracts';
import { DatabaseRepository, type Db, type TxClient } from './database.repository';
import { inRounds } from '../utils/rounds';
import type { RunTelemetryContext } from '../telemetry/run-context';

export interface RunRecord {
  id: string;
  jobId: string;
  hostId: string;
  hostName: string;
  /** The host's kernel release as it last reported it ('' for a host never seen). */
  hostKernel: string;
  state: RunState;
  /** Rollout stage: 0 runs first (canaries, or everything without a rollout), then 1, 2... */
  stage: number;
  error: string | null;
  verifierLog: string | null;
  counters: RunCounters | null;
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  warnings: RunWarnings | null;
  /** The trace context the host returned (its daemon's traceparent, as sent) and its daemon's span of the run; null until it does. */
  hostTraceparent: string | null;
  hostSpanId: string | null;
  startDeadline: Date | null;
  endDeadline: Date | null;
  queuedAt: Date;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface NewRun {
  id: string;
  jobId: string;
  hostId: string;
  stage: number;
  queuedAt: Date;
}

/** Where a page of a job's runs starts: just after this run, in (stage, host id, run id) order. */
export interface RunPosition {
  stage: number;
  hostId: string;
  runId: string;
}

export interface RunPageQuery {
  after?: RunPosition;
  limit: number;
  states?: readonly RunState[];
  /** A host id or name. */
  host?: string;
}

/** A state a run reports or is given; applied only if the state machine allows it from where the run is. */
export interface RunStateChange {
  runId: string;
  state: RunState;
  at: Date;
  error?: string;
}

/** What a run's summary says besides its state. */
export interface RunSummaryRecord {
  runId: string;
  counters: RunCounters;
  verifierLog?: string;
  limits?: RunLimitsReport;
  overhead?: RunOverhead;
  warnings?: RunWarnings;
}

/** A trace context a run's host returned with a report (state `dispatched`, or its summary). */
export interface ReturnedTraceContext {
  runId: string;
  traceparent: string;
  hostSpanId?: string;
}

export interface RunRef {
  id: string;
  jobId: string;
  hostId: string;
}

/** A run as the state machine moved it: where it came from and where it is now. */
export interface AppliedChange extends RunRef {
  from: RunState;
  state: RunState;
  error: string | null;
  /** The run's times after the change (absent for runs released from pending). */
  times?: RunTimes;
}

export interface RunTimes {
  queuedAt: Date;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** When a released run must start, and by when it must have ended whatever happens (contracts' runDeadlines). */
export interface RunDeadlines {
  startDeadline: Date;
  endDeadline: Date;
}

/** A run released with its own deadlines: each host has its own start allowance. */
export interface ReleasedRun {
  runId: string;
  deadlines: RunDeadlines;
}

/** A run as PostgreSQL returns it (RUN_COLUMNS); job-view.repository reads the same columns as JSON. */
export interface RunRow {
  id: string;
  job_id: string;
  host_id: string;
  host_name: string | null;
  host_kernel: string | null;
  state: RunState;
  stage: number;
  error: string | null;
  verifier_log: string | null;
  counters: RunCounters | null;
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  warnings: RunWarnings | null;
  host_traceparent: string | null;
  host_span_id: string | null;
  start_deadline: Date | null;
  end_deadline: Date | null;
  queued_at: Date;
  dispatched_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    hostId: row.host_id,
    hostName: row.host_name ?? row.host_id,
    hostKernel: row.host_kernel ?? '',
    state: row.state,
    stage: row.stage,
    error: row.error,
    verifierLog: row.verifier_log,
    counters: row.counters,
    limits: row.limits,
    overhead: row.overhead,
    warnings: row.warnings,
    hostTraceparent: row.host_traceparent,
    hostSpanId: row.host_span_id,
    startDeadline: row.start_deadline,
    endDeadline: row.end_deadline,
    queuedAt: row.queued_at,
    dispatchedAt: row.dispatched_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toRefs(rows: Array<{ id: string; job_id: string; host_id: string }>): RunRef[] {
  return rows.map((r) => ({ id: r.id, jobId: r.job_id, hostId: r.host_id }));
}

export const RUN_COLUMNS = `r.*, h.name AS host_name, h.kernel_release AS host_kernel`;

/**
 * A page of runs in page order (stage, host id, run id), `where` over runs as `r`, at most `limit`
 * (both SQL text: placeholders or constants, never values). The page is cut from runs alone and
 * only its runs are joined to their hosts. The planner often expects a handful of a job's runs
 * where there are 1,000: the job view names its job through the outer row (j.id), so the estimate is
 * an average job's, and a new job's runs are not in the statistics yet. It then fetched and sorted
 * them all, and with the join below the limit it looked up every run's host to keep 101 (3.3 ms
 * of a 4.4 ms view under the fleet bench, auto_explain).
 * The subquery's ORDER BY chooses which runs make the page, not the order the join returns them
 * in: the caller orders them (ORDER BY, or json_agg's ORDER BY).
 */
export function runPageSql(where: string, limit: string): string {
  return `SELECT ${RUN_COLUMNS}
            FROM (SELECT * FROM runs r WHERE ${where} ORDER BY r.stage, r.host_id, r.id LIMIT ${limit}) r
            LEFT JOIN hosts h ON h.id = r.host_id`;
}

/**
 * Runs and their states. Every state change is one UPDATE guarded by the state machine
 * (libs/contracts run-state.ts): the run must be in a state the new one may follow. The database's
 * trigger checks the same table, so a change this class lets through the trigger lets through too.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class RunRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** Inserts runs `pending`; release() puts them in their queues. */
  async insertMany(db: Db, runs: readonly NewRun[]): Promise<void> {
    await db.query(
      `INSERT INTO runs (id, job_id, host_id, state, stage, queued_at, updated_at)
       SELECT u.id, u.job_id, u.host_id, 'pending', u.stage, u.queued_at, u.queued_at
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[]) AS u(id, job_id, host_id, stage, queued_at)`,
      [runs.map((r) => r.id), runs.map((r) => r.jobId), runs.map((r) => r.hostId), runs.map((r) => r.stage), runs.map((r) => r.queuedAt)],
    );
  }

  async listByJob(jobId: string, db: TxClient): Promise<RunRecord[]> {
    const { rows } = await db.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs r LEFT JOIN hosts h ON h.id = r.host_id WHERE r.job_id = $1 ORDER BY r.stage, r.host_id, r.id`,
      [jobId],
    );
    return rows.map(toRecord);
  }

  /**
   * One page of a job's runs in the order of listByJob, after `after` (keyset: stage, host and id
   * never change, so a run moving state while someone pages is met exactly once). `host` matches a
   * host id or name; `states` keeps runs in those states.
   */
  async pageByJob(jobId: string, query: RunPageQuery, db: TxClient): Promise<RunRecord[]> {
    const where = ['r.job_id = $1'];
    const params: unknown[] = [jobId];
    const param = (value: unknown): string => `$${params.push(value)}`;
    if (query.after) where.push(`(r.stage, r.host_id, r.id) > (${param(query.after.stage)}, ${param(query.after.hostId)}, ${param(query.after.runId)}::uuid)`);
    if (query.states) where.push(`r.state = ANY(${param(query.states)}::text[])`);
    if (query.host !== undefined) {
      const host = param(query.host);
      where.push(`(r.host_id = ${host} OR r.host_id IN (SELECT id FROM hosts WHERE name = ${host}))`);
    }
    const { rows } = await db.query<RunRow>(`${runPageSql(where.join(' AND '), param(query.limit))} ORDER BY r.stage, r.host_id, r.id`, params);
    return rows.map(toRecord);
  }

  async findById(runId: string, db: TxClient): Promise<RunRecord | undefined> {
    const { rows } = await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs r LEFT JOIN hosts h ON h.id = r.host_id WHERE r.id = $1`, [runId]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Each run's host and state, for the runs of `runIds` that exist (ids that are no UUID name no
   * run), keyed by the id in lower case: what ingest checks a report against. Read in the batch's
   * transaction.
   */
  async ownersAndStates(db: Db, runIds: readonly string[]): Promise<Map<string, { hostId: string; state: RunState }>> {
    const ids = [...new Set(runIds.map((id) => id.toLowerCase()))].filter((id) => UUID.test(id));
    if (ids.length === 0) return new Map();
    const { rows } = await db.query<{ id: string; host_id: string; state: RunState }>('SELECT id, host_id, state FROM runs WHERE id = ANY($1::uuid[])', [ids]);
    return new Map(rows.map((r) => [r.id, { hostId: r.host_id, state: r.state }]));
  }

  /** Runs not yet ended, by state: read through the partial index of unfinished runs, never the whole table. */
  async activeCountByState(): Promise<Map<RunState, number>> {
    const { rows } = await this.database.pool.query<{ state: RunState; n: number }>(
      `SELECT state, count(*)::int AS n FROM runs WHERE finished_at IS NULL GROUP BY state`,
    );
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  /** Host, job and program of each run, for its telemetry; runs that do not exist are left out. */
  async telemetryContexts(runIds: readonly string[]): Promise<Map<string, RunTelemetryContext>> {
    const contexts = new Map<string, RunTelemetryContext>();
    if (runIds.length === 0) return contexts;
    const { rows } = await this.database.pool.query<{
      id: string;
      job_id: string;
      host_id: string;
      host_name: string | null;
      kernel_release: string | null;
      program_label: string;
      schedule_id: string | null;
      started_at: Date;
    }>(
      `SELECT r.id, r.job_id, r.host_id, h.name AS host_name, h.kernel_release, j.program_label, j.schedule_id,
              COALESCE(r.started_at, r.dispatched_at, r.queued_at) AS started_at
         FROM runs r JOIN jobs j ON j.id = r.job_id LEFT JOIN hosts h ON h.id = r.host_id
        WHERE r.id = ANY($1::uuid[])`,
      [runIds],
    );
    for (const row of rows) {
      contexts.set(row.id, {
        runId: row.id,
        jobId: row.job_id,
        hostId: row.host_id,
        hostName: row.host_name ?? row.host_id,
        kernelRelease: row.kernel_release ?? '',
        program: row.program_label,
        scheduleId: row.schedule_id,
        startedAt: row.started_at,
      });
    }
    return contexts;
  }

  /** How many runs of each job are in each state. */
  async stateCounts(jobIds: readonly string[], db: TxClient): Promise<Map<string, Partial<Record<RunState, number>>>> {
    const counts = new Map<string, Partial<Record<RunState, number>>>(jobIds.map((id) => [id, {}]));
    if (jobIds.length === 0) return counts;
    const { rows } = await db.query<{ job_id: string; state: RunState; n: number }>(
      'SELECT job_id, state, count(*)::int AS n FROM runs WHERE job_id = ANY($1::uuid[]) GROUP BY job_id, state',
      [jobIds],
    );
    for (const row of rows) counts.get(row.job_id)![row.state] = row.n;
    return counts;
  }

  /**
   * Applies the changes the state machine allows, each only from a state it may follow; returns
   * the ones applied. Timestamps are set once, by the first state that implies them. A run's
   * changes apply in the order given, all runs at once: as many statements as the run with the
   * most changes in the list has (usually one to four), not one per change.
   */
  async advance(db: Db, changes: readonly RunStateChange[]): Promise<AppliedChange[]> {
    const applied: AppliedChange[] = [];
    for (const round of inRounds(changes, (c) => c.runId)) {
      // The allowed transitions are run_state_transitions, written from libs/contracts at start
      // (the trigger checks the same table). Rows are locked in id order, all in the first round
      // (later rounds hold fewer of the same runs), so two transactions moving the same runs wait
      // for each other instead of deadlocking.
      const { rows } = await db.query<{
        id: string;
        job_id: string;
        host_id: string;
        from: RunState;
        state: RunState;
        error: string | null;
        queued_at: Date;
        dispatched_at: Date | null;
        started_at: Date | null;
        finished_at: Date | null;
      }>(
        `WITH change AS (
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) AS c(run_id, state, at, error)
         ), old AS (
           SELECT r.id, r.state FROM runs r WHERE r.id IN (SELECT run_id FROM change) ORDER BY r.id FOR NO KEY UPDATE
         )
         UPDATE runs r SET
           state = c.state,
           error = coalesce(c.error, r.error),
           dispatched_at = CASE WHEN c.state = ANY($5::text[]) THEN coalesce(r.dispatched_at, c.at) ELSE r.dispatched_at END,
           started_at = CASE WHEN c.state IN ('running', 'draining') THEN coalesce(r.started_at, c.at) ELSE r.started_at END,
           finished_at = CASE WHEN c.state = ANY($6::text[]) THEN r.finished_at ELSE c.at END,
           updated_at = now()
         FROM change c JOIN old ON old.id = c.run_id
         WHERE r.id = c.run_id
           AND EXISTS (SELECT 1 FROM run_state_transitions t WHERE t.from_state = old.state AND t.to_state = c.state)
         RETURNING r.id, r.job_id, r.host_id, old.state AS from, c.state AS state, r.error, r.queued_at, r.dispatched_at, r.started_at, r.finished_at`,
        [round.map((c) => c.runId), round.map((c) => c.state), round.map((c) => c.at), round.map((c) => c.error ?? null), TAKEN_RUN_STATES, ACTIVE_RUN_STATES],
      );
      for (const row of rows) {
        const times = { queuedAt: row.queued_at, dispatchedAt: row.dispatched_at, startedAt: row.started_at, finishedAt: row.finished_at };
        applied.push({ id: row.id, jobId: row.job_id, hostId: row.host_id, from: row.from, state: row.state, error: row.error, times });
      }
    }
    return applied;
  }

  /**
   * Puts pending runs in their queues' state with their deadlines; returns those it released
   * (a run cancelled meanwhile is not).
   */
  async release(db: Db, released: readonly ReleasedRun[]): Promise<RunRef[]> {
    if (released.length === 0) return [];
    const { rows } = await db.query(
      `UPDATE runs r SET state = 'queued', start_deadline = d.start_deadline, end_deadline = d.end_deadline, updated_at = now()
       FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS d(id, start_deadline, end_deadline)
       WHERE r.id = d.id AND r.state = 'pending'
       RETURNING r.id, r.job_id, r.host_id`,
      [released.map((r) => r.runId), released.map((r) => r.deadlines.startDeadline), released.map((r) => r.deadlines.endDeadline)],
    );
    return toRefs(rows);
  }

  /** What runs' summaries say besides their state; stored even when a state itself came too late to apply. */
  async recordSummaries(db: Db, summaries: readonly RunSummaryRecord[]): Promise<void> {
    for (const round of inRounds(summaries, (s) => s.runId)) {
      await db.query(
        `UPDATE runs r SET counters = u.counters, verifier_log = coalesce(u.verifier_log, r.verifier_log), limits = coalesce(u.limits, r.limits),
           overhead = coalesce(u.overhead, r.overhead), warnings = coalesce(u.warnings, r.warnings), updated_at = now()
         FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::jsonb[], $5::jsonb[], $6::jsonb[]) AS u(run_id, counters, verifier_log, limits, overhead, warnings)
         WHERE r.id = u.run_id`,
        [
          round.map((s) => s.runId),
          round.map((s) => JSON.stringify(s.counters)),
          round.map((s) => s.verifierLog ?? null),
          round.map((s) => (s.limits ? JSON.stringify(s.limits) : null)),
          round.map((s) => (s.overhead ? JSON.stringify(s.overhead) : null)),
          round.map((s) => (s.warnings ? JSON.stringify(s.warnings) : null)),
        ],
      );
    }
  }

  /**
   * The trace contexts runs' hosts returned, the latest of each run's kept (a span id once given is
   * kept when a later report lacks one). Written whatever they say: a context that is not the run
   * span's is what the view must show.
   */
  async recordTraceContexts(db: Db, returned: readonly ReturnedTraceContext[]): Promise<void> {
    const latest = new Map<string, ReturnedTraceContext>();
    for (const r of returned) latest.set(r.runId, { ...r, hostSpanId: r.hostSpanId ?? latest.get(r.runId)?.hostSpanId });
    if (latest.size === 0) return;
    const rows = [...latest.values()];
    await db.query(
      `UPDATE runs r SET host_traceparent = u.traceparent, host_span_id = coalesce(u.host_span_id, r.host_span_id)
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(run_id, traceparent, host_span_id)
       WHERE r.id = u.run_id`,
      [rows.map((r) => r.runId), rows.map((r) => r.traceparent), rows.map((r) => r.hostSpanId ?? null)],
    );
  }

  /** Queued runs whose start deadline passed before `cutoff`: no host took them in time. */
  async queuedPastStartDeadline(cutoff: Date): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `SELECT id, job_id, host_id FROM runs WHERE finished_at IS NULL AND state = 'queued' AND start_deadline < $1`,
      [cutoff],
    );
    return toRefs(rows);
  }

  /** Runs a host took whose end deadline passed before `cutoff`: nobody is coming back for them. */
  async takenPastEndDeadline(cutoff: Date): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `SELECT id, job_id, host_id FROM runs WHERE finished_at IS NULL AND state = ANY($2::text[]) AND end_deadline < $1`,
      [cutoff, TAKEN_RUN_STATES],
    );
    return toRefs(rows);
  }

  /** Active runs of cancelled jobs whose host has not confirmed the cancel within the job's grace before `cutoff`. */
  async unconfirmedCancels(cutoff: Date): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `SELECT r.id, r.job_id, r.host_id FROM runs r JOIN jobs j ON j.id = r.job_id
       WHERE r.finished_at IS NULL AND j.cancelled_at IS NOT NULL
         AND j.cancelled_at + make_interval(secs => (j.limits->>'graceSeconds')::float8) < $1`,
      [cutoff],
    );
    return toRefs(rows);
  }

  /** Whether the job has runs and every one of them is on one of `hostIds`: one aggregate, not the runs read whole. */
  async allOnHosts(jobId: string, hostIds: readonly string[]): Promise<boolean> {
    const { rows } = await this.database.pool.query<{ on_hosts: boolean }>(
      'SELECT coalesce(bool_and(host_id = ANY($2::text[])), false) AS on_hosts FROM runs WHERE job_id = $1',
      [jobId, hostIds],
    );
    return rows[0]!.on_hosts;
  }

  /** The id of the job's latest state change (0 before any): one index probe (run_transitions_by_job), not a read of them all. */
  async lastTransitionId(jobId: string): Promise<number> {
    const { rows } = await this.database.pool.query<{ id: number }>('SELECT coalesce(max(id), 0) AS id FROM run_transitions WHERE job_id = $1', [jobId]);
    return rows[0]!.id;
  }

  /** The job's state changes after `afterId`, in the order they happened, at most `limit`. */
  async transitionsOf(jobId: string, afterId: number, limit: number): Promise<TransitionRecord[]> {
    const { rows } = await this.database.pool.query<{ id: number; run_id: string; host_id: string; from_state: RunState; to_state: RunState; error: string | null; at: Date }>(
      'SELECT id, run_id, host_id, from_state, to_state, error, at FROM run_transitions WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3',
      [jobId, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, runId: r.run_id, hostId: r.host_id, from: r.from_state, state: r.to_state, error: r.error, at: r.at }));
  }

  /** A host's latest runs, newest first, with their job's program. */
  /**
   * The host's latest runs; with `onlyHosts` (a host-limited token's view), only runs of jobs all of
   * whose runs are on those hosts, the rule AccessService and the job list apply.
   */
  async recentOfHost(hostId: string, limit: number, onlyHosts?: readonly string[]): Promise<Array<RunRecord & { program: string }>> {
    const { rows } = await this.database.pool.query<RunRow & { program_label: string }>(
      `SELECT ${RUN_COLUMNS}, j.program_label FROM runs r JOIN jobs j ON j.id = r.job_id LEFT JOIN hosts h ON h.id = r.host_id
       WHERE r.host_id = $1
         AND ($3::text[] IS NULL OR NOT EXISTS (SELECT 1 FROM runs o WHERE o.job_id = r.job_id AND o.host_id <> ALL($3::text[])))
       ORDER BY r.queued_at DESC, r.id DESC LIMIT $2`,
      [hostId, limit, onlyHosts ?? null],
    );
    return rows.map((row) => ({ ...toRecord(row), program: row.program_label }));
  }

  /** Whether every run of the job has ended. */
  async allEnded(db: Db, jobId: string): Promise<boolean> {
    const { rows } = await db.query<{ active: boolean }>('SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = $1 AND finished_at IS NULL) AS active', [jobId]);
    return !rows[0]!.active;
  }
}

/** One state change of one run, as the runs trigger logged it. */
export interface TransitionRecord {
  id: number;
  runId: string;
  hostId: string;
  from: RunState;
  state: RunState;
  error: string | null;
  at: Date;
}

/** Every state a run may be in, for the API's query validation. */
export const KNOWN_RUN_STATES: readonly RunState[] = RUN_STATES;
