import { Inject, Injectable } from '@nestjs/common';
import type { SshEnrolmentState } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

export interface SshHostRecord {
  id: string;
  name: string;
  /** As enrolled: `host:port`. */
  address: string;
  user: string;
  labels: Record<string, string>;
  hostKey: string | null;
  trust: 'pinned' | 'first-use';
  state: SshEnrolmentState;
  error: string | null;
  enrolledAt: Date;
}

interface SshHostRow {
  id: string;
  name: string;
  address: string;
  ssh_user: string;
  labels: Record<string, string>;
  host_key: string | null;
  trust: 'pinned' | 'first-use';
  state: SshEnrolmentState;
  error: string | null;
  enrolled_at: Date;
}

function toRecord(row: SshHostRow): SshHostRecord {
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    user: row.ssh_user,
    labels: row.labels,
    hostKey: row.host_key,
    trust: row.trust,
    state: row.state,
    error: row.error,
    enrolledAt: row.enrolled_at,
  };
}

/** SSH enrolments: where a host is and the key it must show. Private keys are never here. */
@Injectable()
export class SshHostRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** False when the id is taken (by an enrolment, or by a daemon host that registered). */
  async insert(db: Db, host: SshHostRecord): Promise<boolean> {
    const { rowCount } = await db.query(
      `INSERT INTO ssh_hosts (id, name, address, ssh_user, labels, host_key, trust, state, error, enrolled_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
       WHERE NOT EXISTS (SELECT 1 FROM hosts WHERE id = $1 AND removed_at IS NULL)
       ON CONFLICT (id) DO NOTHING`,
      [host.id, host.name, host.address, host.user, JSON.stringify(host.labels), host.hostKey, host.trust, host.state, host.error, host.enrolledAt],
    );
    return (rowCount ?? 0) > 0;
  }

  async findById(id: string, db: Db = this.database.pool): Promise<SshHostRecord | undefined> {
    const { rows } = await db.query<SshHostRow>('SELECT * FROM ssh_hosts WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Locked for the rest of the transaction: two probe reports of one host are applied one after the other. */
  async findForUpdate(db: Db, id: string): Promise<SshHostRecord | undefined> {
    const { rows } = await db.query<SshHostRow>('SELECT * FROM ssh_hosts WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(): Promise<SshHostRecord[]> {
    const { rows } = await this.database.pool.query<SshHostRow>('SELECT * FROM ssh_hosts ORDER BY id');
    return rows.map(toRecord);
  }

  async update(db: Db, id: string, change: { state: SshEnrolmentState; error: string | null; hostKey: string | null }): Promise<void> {
    await db.query('UPDATE ssh_hosts SET state = $2, error = $3, host_key = $4 WHERE id = $1', [id, change.state, change.error, change.hostKey]);
  }

  async remove(db: Db, id: string): Promise<boolean> {
    const { rowCount } = await db.query('DELETE FROM ssh_hosts WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }
}
