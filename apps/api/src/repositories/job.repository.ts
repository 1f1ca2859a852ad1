import { Inject, Injectable } from '@nestjs/common';
import type { JobState, ProgramPolicy, ProgramSpec, RolloutSpec, RunDispatch, TargetsV2 } from '@fleettrace/contracts';
import { DatabaseRepository, type Db, type TxClient } from './database.repository';

export interface JobRecord {
  id: string;
  program: ProgramSpec;
  /** The catalog name, or the kind of an inline program: what lists show and filter on. */
  programLabel: string;
  params: Record<string, unknown>;
  targets: TargetsV2;
  durationSeconds: number;
  /** The run limits every host applies, resolved once when the job was created. */
  limits: RunDispatch['limits'];
  /** What a C program may contain (program-policy.ts), resolved from the creating token's scopes; null for other kinds. */
  programPolicy: ProgramPolicy | null;
  rollout: RolloutSpec | null;
  snapshotSeconds: number | null;
  state: JobState;
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
  scheduleId: string | null;
  cancelledAt: Date | null;
  cancelledBy: string | null;
  cancelReason: string | null;
}

export interface JobEvent {
  at: Date;
  kind: string;
  message: string;
  detail: Record<string, unknown>;
}

export interface JobFilter {
  state?: JobState;
  program?: string;
  createdBy?: string;
  scheduleId?: string;
  since?: Date;
  until?: Date;
  /** Only jobs all of whose runs are on these hosts (a host-limited token's view). */
  onlyHosts?: readonly string[];
}

/** Where a page of the newest-first list starts: strictly older than this (created_at, id). */
export interface JobListPosition {
  createdAt: Date;
  id: string;
}

/** A job as PostgreSQL returns it (`SELECT *`); job-view.repository reads the same row as JSON. */
export interface JobRow {
  id: string;
  program: string;
  program_label: string;
  params: Record<string, unknown>;
  targets: TargetsV2;
  duration_seconds: number;
  limits: RunDispatch['limits'];
  program_policy: ProgramPolicy | null;
  rollout: RolloutSpec | null;
  snapshot_seconds: number | null;
  state: JobState;
  created_by: string;
  created_at: Date;
  finished_at: Date | null;
  schedule_id: string | null;
  cancelled_at: Date | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
}

export function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    program: decodeProgram(row.program),
    programLabel: row.program_label,
    params: row.params,
    targets: row.targets,
    durationSeconds: row.duration_seconds,
    limits: row.limits,
    programPolicy: row.program_policy,
    rollout: row.rollout,
    snapshotSeconds: row.snapshot_seconds,
    state: row.state,
    createdBy: row.created_by,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    scheduleId: row.schedule_id,
    cancelledAt: row.cancelled_at,
    cancelledBy: row.cancelled_by,
    cancelReason: row.cancel_reason,
  };
}

@Injectable()
export class JobRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  async insert(db: Db, job: JobRecord): Promise<void> {
    await db.query(
      `INSERT INTO jobs (id, program, program_label, params, targets, duration_seconds, limits, rollout, snapshot_seconds,
         state, created_by, created_at, finished_at, schedule_id, program_policy)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        job.id,
        encodeProgram(job.program),
        job.programLabel,
        JSON.stringify(job.params),
        JSON.stringify(job.targets),
        job.durationSeconds,
        JSON.stringify(job.limits),
        job.rollout ? JSON.stringify(job.rollout) : null,
        job.snapshotSeconds,
        job.state,
        job.createdBy,
        job.createdAt,
        job.finishedAt,
        job.scheduleId,
        job.programPolicy ? JSON.stringify(job.programPolicy) : null,
      ],
    );
  }

  /** How many jobs are in each state (running, completed). */
  async countByState(): Promise<Map<string, number>> {
    const { rows } = await this.database.pool.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM jobs GROUP BY state');
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  async findById(id: string, db: TxClient): Promise<JobRecord | undefined> {
    const { rows } = await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** The job, locked until the transaction ends: rollout steps and cancels of one job take turns (NO KEY UPDATE: see completeIfFinished). */
  async lock(db: Db, id: string): Promise<JobRecord | undefined> {
    const { rows } = await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1 FOR NO KEY UPDATE', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Newest first, `limit` of them, strictly after `after` in that order. */
  async list(filter: JobFilter, limit: number, after?: JobListPosition): Promise<JobRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (param: string) => string, value: unknown): void => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    if (filter.state) add((p) => `state = ${p}`, filter.state);
    if (filter.program) add((p) => `program_label = ${p}`, filter.program);
    if (filter.createdBy) add((p) => `created_by = ${p}`, filter.createdBy);
    if (filter.scheduleId) add((p) => `schedule_id = ${p}`, filter.scheduleId);
    if (filter.since) add((p) => `created_at >= ${p}`, filter.since);
    if (filter.until) add((p) => `created_at < ${p}`, filter.until);
    if (filter.onlyHosts) add((p) => `NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = jobs.id AND r.host_id <> ALL(${p}::text[]))`, filter.onlyHosts);
    if (after) {
      values.push(after.createdAt, after.id);
      where.push(`(created_at, id) < ($${values.length - 1}, $${values.length})`);
    }
    values.push(limit);
    const { rows } = await this.database.pool.query<JobRow>(
      `SELECT * FROM jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(toRecord);
  }

  /**
   * Completes those of the given jobs whose runs have all ended; returns the ones it completed.
   * The job rows are locked first, in a statement of their own: two transactions each ending the
   * last-but-one run would otherwise both see the other's run unfinished and neither complete the
   * job. After the lock, the next statement's snapshot sees what the other transaction committed.
   * NO KEY UPDATE, not UPDATE: rows inserted meanwhile that reference the job (a run's state change,
   * a snapshot) hold KEY SHARE on it, which UPDATE would wait for, and they for us: a deadlock.
   */
  async completeIfFinished(db: Db, jobIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const ids = [...new Set(jobIds)].sort();
    await db.query(`SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND state = 'running' ORDER BY id FOR NO KEY UPDATE`, [ids]);
    const { rows } = await db.query<{ id: string }>(
      `UPDATE jobs j SET state = 'completed', finished_at = now()
       WHERE j.id = ANY($1::uuid[]) AND j.state = 'running'
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id AND r.finished_at IS NULL)
       RETURNING j.id`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  /** Running jobs whose runs have all ended (a crash between a run's end and its job's completion). */
  async runningWithAllRunsEnded(): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ id: string }>(
      `SELECT j.id FROM jobs j WHERE j.state = 'running'
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id AND r.finished_at IS NULL)`,
    );
    return rows.map((r) => r.id);
  }

  /** Marks the job cancelled by `by`; false if it already was. */
  async markCancelled(db: Db, jobId: string, cancel: { at: Date; by: string; reason: string }): Promise<boolean> {
    const result = await db.query(
      `UPDATE jobs SET cancelled_at = $2, cancelled_by = $3, cancel_reason = $4 WHERE id = $1 AND cancelled_at IS NULL`,
      [jobId, cancel.at, cancel.by, cancel.reason],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async addEvents(db: Db, jobId: string, events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    await db.query(
      `INSERT INTO job_events (job_id, at, kind, message, detail)
       SELECT $1, u.at, u.kind, u.message, u.detail FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::jsonb[]) AS u(at, kind, message, detail)`,
      [jobId, events.map((e) => e.at), events.map((e) => e.kind), events.map((e) => e.message), events.map((e) => JSON.stringify(e.detail))],
    );
  }

  async eventsOf(jobId: string, db: TxClient): Promise<JobEvent[]> {
    const { rows } = await db.query<JobEvent>('SELECT at, kind, message, detail FROM job_events WHERE job_id = $1 ORDER BY id', [jobId]);
    return rows;
  }

  /** Reads a job with its runs and timeline as of one moment (see DatabaseRepository.snapshot). */
  readAsOne<T>(work: (tx: TxClient) => Promise<T>): Promise<T> {
    return this.database.snapshot(work);
  }
}

/**
 * jobs.program holds a catalog name as is, or an inline bpftrace / C program as its JSON text
 * (catalog names never start with "{"), so the column stays text and existing rows stay valid.
 */
export function encodeProgram(program: ProgramSpec): string {
  return typeof program === 'string' ? program : JSON.stringify(program);
}

export function decodeProgram(stored: string): ProgramSpec {
  return stored.startsWith('{') ? (JSON.parse(stored) as ProgramSpec) : stored;
}
