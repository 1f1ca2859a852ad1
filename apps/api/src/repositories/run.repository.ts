import { Inject, Injectable } from '@nestjs/common';
import { runStateRank, type RunCounters, type RunLimitsReport, type RunOverhead, type RunState, type RunWarnings } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

export interface RunRecord {
  id: string;
  jobId: string;
  hostId: string;
  state: RunState;
  error: string | null;
  verifierLog: string | null;
  counters: RunCounters | null;
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  warnings: RunWarnings | null;
  startDeadline: Date;
  queuedAt: Date;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface NewRun {
  id: string;
  jobId: string;
  hostId: string;
  startDeadline: Date;
  queuedAt: Date;
}

/** A state a run reports; applied only if it moves the run forward. */
export interface RunStateChange {
  runId: string;
  state: RunState;
  at: Date;
  error?: string;
}

export interface RunRef {
  id: string;
  jobId: string;
  hostId: string;
}

interface RunRow {
  id: string;
  job_id: string;
  host_id: string;
  state: RunState;
  error: string | null;
  verifier_log: string | null;
  counters: RunCounters | null;
  limits: RunLimitsReport | null;
  overhead: RunOverhead | null;
  warnings: RunWarnings | null;
  start_deadline: Date;
  queued_at: Date;
  dispatched_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
}

const QUEUED_RANK = runStateRank('queued');
const DISPATCHED_RANK = runStateRank('dispatched');
const DRAINING_RANK = runStateRank('draining');
const TERMINAL_RANK = runStateRank('succeeded');

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    hostId: row.host_id,
    state: row.state,
    error: row.error,
    verifierLog: row.verifier_log,
    counters: row.counters,
    limits: row.limits,
    overhead: row.overhead,
    warnings: row.warnings,
    startDeadline: row.start_deadline,
    queuedAt: row.queued_at,
    dispatchedAt: row.dispatched_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toRefs(rows: Array<{ id: string; job_id: string; host_id: string }>): RunRef[] {
  return rows.map((r) => ({ id: r.id, jobId: r.job_id, hostId: r.host_id }));
}

@Injectable()
export class RunRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  async insertMany(db: Db, runs: readonly NewRun[]): Promise<void> {
    await db.query(
      `INSERT INTO runs (id, job_id, host_id, state, state_rank, start_deadline, queued_at, updated_at)
       SELECT u.id, u.job_id, u.host_id, 'queued', $6, u.start_deadline, u.queued_at, u.queued_at
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[])
         AS u(id, job_id, host_id, start_deadline, queued_at)`,
      [
        runs.map((r) => r.id),
        runs.map((r) => r.jobId),
        runs.map((r) => r.hostId),
        runs.map((r) => r.startDeadline),
        runs.map((r) => r.queuedAt),
        QUEUED_RANK,
      ],
    );
  }

  async listByJob(jobId: string): Promise<RunRecord[]> {
    const { rows } = await this.database.pool.query<RunRow>('SELECT * FROM runs WHERE job_id = $1 ORDER BY host_id', [jobId]);
    return rows.map(toRecord);
  }

  /**
   * Moves a run to a reported state if that is a step forward; returns the run's job when it did.
   * Each timestamp is set once, by the first state that implies it.
   */
  async advance(db: Db, change: RunStateChange): Promise<{ jobId: string } | undefined> {
    const rank = runStateRank(change.state);
    const { rows } = await db.query<{ job_id: string }>(
      `UPDATE runs SET
         state = $2,
         state_rank = $3,
         error = coalesce($4, error),
         dispatched_at = CASE WHEN $3 >= $6 THEN coalesce(dispatched_at, $5) ELSE dispatched_at END,
         started_at = CASE WHEN $2 IN ('running', 'draining') THEN coalesce(started_at, $5) ELSE started_at END,
         finished_at = CASE WHEN $3 >= $7 THEN $5 ELSE finished_at END,
         updated_at = now()
       WHERE id = $1 AND state_rank < $3
       RETURNING job_id`,
      [change.runId, change.state, rank, change.error ?? null, change.at, DISPATCHED_RANK, TERMINAL_RANK],
    );
    return rows[0] && { jobId: rows[0].job_id };
  }

  /** What a run's summary says besides its state; stored even when the state itself came too late to apply. */
  async recordSummary(
    db: Db,
    runId: string,
    summary: { counters: RunCounters; verifierLog?: string; limits?: RunLimitsReport; overhead?: RunOverhead; warnings?: RunWarnings },
  ): Promise<void> {
    await db.query(
      `UPDATE runs SET counters = $2, verifier_log = coalesce($3, verifier_log), limits = coalesce($4, limits),
         overhead = coalesce($5, overhead), warnings = coalesce($6, warnings), updated_at = now() WHERE id = $1`,
      [
        runId,
        JSON.stringify(summary.counters),
        summary.verifierLog ?? null,
        summary.limits ? JSON.stringify(summary.limits) : null,
        summary.overhead ? JSON.stringify(summary.overhead) : null,
        summary.warnings ? JSON.stringify(summary.warnings) : null,
      ],
    );
  }

  /** Ends runs that never reached any host (the enqueue failed) with the reason; returns the ones it ended. */
  async failQueued(runIds: readonly string[], error: string): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `UPDATE runs SET state = 'failed', state_rank = $2, error = $3, finished_at = now(), updated_at = now()
       WHERE id = ANY($1::uuid[]) AND state_rank < $2
       RETURNING id, job_id, host_id`,
      [runIds, TERMINAL_RANK, error],
    );
    return toRefs(rows);
  }

  /** Runs still queued whose start deadline passed before `cutoff`: no host took them in time. */
  async markMissed(cutoff: Date): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `UPDATE runs SET state = 'missed', state_rank = $2,
         error = 'host ' || host_id || ' did not start the run before its start deadline',
         finished_at = now(), updated_at = now()
       WHERE state_rank = $3 AND start_deadline < $1
       RETURNING id, job_id, host_id`,
      [cutoff, TERMINAL_RANK, QUEUED_RANK],
    );
    return toRefs(rows);
  }

  /**
   * Runs a host took but stopped reporting on: the latest a run may end is its start deadline plus
   * duration plus the daemon's grace; past that plus `slackSeconds`, nobody is coming back for it.
   */
  async markSilent(now: Date, graceSeconds: number, slackSeconds: number): Promise<RunRef[]> {
    const { rows } = await this.database.pool.query(
      `UPDATE runs r SET state = 'timed_out', state_rank = $2,
         error = 'host ' || r.host_id || ' stopped reporting',
         finished_at = now(), updated_at = now()
       FROM jobs j
       WHERE j.id = r.job_id AND r.state_rank BETWEEN $3 AND $4
         AND r.start_deadline + make_interval(secs => j.duration_seconds + $5 + $6) < $1
       RETURNING r.id, r.job_id, r.host_id`,
      [now, TERMINAL_RANK, DISPATCHED_RANK, DRAINING_RANK, graceSeconds, slackSeconds],
    );
    return toRefs(rows);
  }
}
