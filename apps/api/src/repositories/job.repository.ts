import { Inject, Injectable } from '@nestjs/common';
import { runStateRank, type JobState, type ProgramSpec, type TargetSelector } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

export interface JobRecord {
  id: string;
  program: ProgramSpec;
  params: Record<string, unknown>;
  targets: TargetSelector;
  durationSeconds: number;
  state: JobState;
  createdBy: string;
  createdAt: Date;
  finishedAt: Date | null;
}

interface JobRow {
  id: string;
  program: string;
  params: Record<string, unknown>;
  targets: TargetSelector;
  duration_seconds: number;
  state: JobState;
  created_by: string;
  created_at: Date;
  finished_at: Date | null;
}

const TERMINAL_RANK = runStateRank('succeeded');

@Injectable()
export class JobRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  async insert(db: Db, job: JobRecord): Promise<void> {
    await db.query(
      `INSERT INTO jobs (id, program, params, targets, duration_seconds, state, created_by, created_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        job.id,
        encodeProgram(job.program),
        JSON.stringify(job.params),
        JSON.stringify(job.targets),
        job.durationSeconds,
        job.state,
        job.createdBy,
        job.createdAt,
        job.finishedAt,
      ],
    );
  }

  async findById(id: string): Promise<JobRecord | undefined> {
    const { rows } = await this.database.pool.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    const row = rows[0];
    return row && {
      id: row.id,
      program: decodeProgram(row.program),
      params: row.params,
      targets: row.targets,
      durationSeconds: row.duration_seconds,
      state: row.state,
      createdBy: row.created_by,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
    };
  }

  /**
   * Completes those of the given jobs whose runs are all terminal; returns the ones it completed.
   * The job rows are locked first, in a statement of their own: two transactions each finishing the
   * last-but-one run would otherwise both see the other's run unfinished and neither complete the job.
   * After the lock, the next statement's snapshot sees what the other transaction committed.
   */
  async completeIfFinished(db: Db, jobIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const ids = [...new Set(jobIds)].sort();
    await db.query(`SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND state = 'running' ORDER BY id FOR UPDATE`, [ids]);
    const { rows } = await db.query<{ id: string }>(
      `UPDATE jobs j SET state = 'completed', finished_at = now()
       WHERE j.id = ANY($1::uuid[]) AND j.state = 'running'
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id AND r.state_rank < $2)
       RETURNING j.id`,
      [ids, TERMINAL_RANK],
    );
    return rows.map((r) => r.id);
  }

  /** Safety net run by the reaper: completes every running job whose runs have all ended. */
  async completeAllFinished(): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ id: string }>(
      `UPDATE jobs j SET state = 'completed', finished_at = now()
       WHERE j.state = 'running' AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.id AND r.state_rank < $1)
       RETURNING j.id`,
      [TERMINAL_RANK],
    );
    return rows.map((r) => r.id);
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
