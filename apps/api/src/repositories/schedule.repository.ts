import { Inject, Injectable } from '@nestjs/common';
import type { CreateJobRequest, ScheduleFiringView } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

export interface ScheduleRecord {
  id: string;
  name: string;
  cron: string | null;
  timezone: string | null;
  everySeconds: number | null;
  job: CreateJobRequest;
  overlap: 'skip' | 'allow';
  enabled: boolean;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface FiringRecord {
  scheduleId: string;
  dueAt: Date;
  outcome: ScheduleFiringView['outcome'];
  jobId: string | null;
  reason: string | null;
}

interface ScheduleRow {
  id: string;
  name: string;
  cron: string | null;
  timezone: string | null;
  every_seconds: number | null;
  job: CreateJobRequest;
  overlap: 'skip' | 'allow';
  enabled: boolean;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    everySeconds: row.every_seconds,
    job: row.job,
    overlap: row.overlap,
    enabled: row.enabled,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

@Injectable()
export class ScheduleRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  async insert(db: Db, schedule: ScheduleRecord): Promise<void> {
    await db.query(
      `INSERT INTO schedules (id, name, cron, timezone, every_seconds, job, overlap, enabled, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        schedule.id,
        schedule.name,
        schedule.cron,
        schedule.timezone,
        schedule.everySeconds,
        JSON.stringify(schedule.job),
        schedule.overlap,
        schedule.enabled,
        schedule.createdBy,
        schedule.createdAt,
        schedule.updatedAt,
      ],
    );
  }

  async update(db: Db, schedule: ScheduleRecord): Promise<void> {
    await db.query(
      `UPDATE schedules SET name = $2, cron = $3, timezone = $4, every_seconds = $5, job = $6, overlap = $7, enabled = $8, updated_at = $9
       WHERE id = $1`,
      [schedule.id, schedule.name, schedule.cron, schedule.timezone, schedule.everySeconds, JSON.stringify(schedule.job), schedule.overlap, schedule.enabled, schedule.updatedAt],
    );
  }

  async delete(db: Db, id: string): Promise<boolean> {
    const result = await db.query('DELETE FROM schedules WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async findById(id: string, db: Db = this.database.pool): Promise<ScheduleRecord | undefined> {
    const { rows } = await db.query<ScheduleRow>('SELECT * FROM schedules WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async lock(db: Db, id: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await db.query<ScheduleRow>('SELECT * FROM schedules WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(): Promise<ScheduleRecord[]> {
    const { rows } = await this.database.pool.query<ScheduleRow>('SELECT * FROM schedules ORDER BY created_at DESC, id DESC');
    return rows.map(toRecord);
  }

  /**
   * Claims one firing of a schedule: true for the first caller for that due time, false for any
   * other (a second API process, a redelivered job). The firing is recorded `started`; settle()
   * completes it.
   */
  async claimFiring(db: Db, scheduleId: string, dueAt: Date): Promise<boolean> {
    const result = await db.query(
      `INSERT INTO schedule_firings (schedule_id, due_at, outcome) VALUES ($1, $2, 'started') ON CONFLICT DO NOTHING`,
      [scheduleId, dueAt],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async settleFiring(db: Db, firing: FiringRecord): Promise<void> {
    await db.query(`UPDATE schedule_firings SET outcome = $3, job_id = $4, reason = $5, recorded_at = now() WHERE schedule_id = $1 AND due_at = $2`, [
      firing.scheduleId,
      firing.dueAt,
      firing.outcome,
      firing.jobId,
      firing.reason,
    ]);
  }

  /** Records firings that never happened (no API process was up); ones already recorded stay as they are. */
  async recordSkipped(db: Db, scheduleId: string, dueTimes: readonly Date[], reason: string): Promise<void> {
    if (dueTimes.length === 0) return;
    await db.query(
      `INSERT INTO schedule_firings (schedule_id, due_at, outcome, reason)
       SELECT $1, u.due_at, 'skipped', $3 FROM unnest($2::timestamptz[]) AS u(due_at) ON CONFLICT DO NOTHING`,
      [scheduleId, dueTimes, reason],
    );
  }

  /** The newest firings of each schedule, `limit` each. */
  async recentFirings(scheduleIds: readonly string[], limit: number): Promise<FiringRecord[]> {
    if (scheduleIds.length === 0) return [];
    const { rows } = await this.database.pool.query<{ schedule_id: string; due_at: Date; outcome: FiringRecord['outcome']; job_id: string | null; reason: string | null }>(
      `SELECT schedule_id, due_at, outcome, job_id, reason FROM (
         SELECT f.*, row_number() OVER (PARTITION BY schedule_id ORDER BY due_at DESC) AS n FROM schedule_firings f WHERE schedule_id = ANY($1::uuid[])
       ) ranked WHERE n <= $2 ORDER BY schedule_id, due_at DESC`,
      [scheduleIds, limit],
    );
    return rows.map((r) => ({ scheduleId: r.schedule_id, dueAt: r.due_at, outcome: r.outcome, jobId: r.job_id, reason: r.reason }));
  }

  /** Whether a job this schedule started is still running. */
  async runningJobOf(db: Db, scheduleId: string): Promise<string | undefined> {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM jobs WHERE schedule_id = $1 AND state = 'running' ORDER BY created_at DESC LIMIT 1`, [scheduleId]);
    return rows[0]?.id;
  }
}
