import { Inject, Injectable } from '@nestjs/common';
import { DatabaseRepository, type Db } from './database.repository';

export interface EnrolmentRecord {
  id: string;
  hostId: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

interface EnrolmentRow {
  id: string;
  host_id: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

const toRecord = (r: EnrolmentRow): EnrolmentRecord => ({ id: r.id, hostId: r.host_id, createdBy: r.created_by, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at });

/** One-time enrolment tokens (by keyed hash) and which hosts hold their own Redis user. */
@Injectable()
export class HostEnrolmentRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  async insert(db: Db, enrolment: Omit<EnrolmentRecord, 'usedAt'>, secretHmac: string): Promise<void> {
    await db.query('INSERT INTO host_enrolments (id, host_id, secret_hmac, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      enrolment.id,
      enrolment.hostId,
      secretHmac,
      enrolment.createdBy,
      enrolment.createdAt,
      enrolment.expiresAt,
    ]);
  }

  /** The enrolment with this secret, locked: two daemons racing with one token spend it once. */
  async lockBySecret(db: Db, secretHmac: string): Promise<EnrolmentRecord | undefined> {
    const { rows } = await db.query<EnrolmentRow>('SELECT * FROM host_enrolments WHERE secret_hmac = $1 FOR UPDATE', [secretHmac]);
    return rows[0] && toRecord(rows[0]);
  }

  async markUsed(db: Db, id: string, at: Date): Promise<void> {
    await db.query('UPDATE host_enrolments SET used_at = $2 WHERE id = $1', [id, at]);
  }

  async upsertCredentials(db: Db, hostId: string, redisUser: string, enrolmentId: string): Promise<void> {
    await db.query(
      `INSERT INTO host_credentials (host_id, redis_user, enrolment_id) VALUES ($1, $2, $3)
       ON CONFLICT (host_id) DO UPDATE SET redis_user = excluded.redis_user, enrolment_id = excluded.enrolment_id, created_at = now()`,
      [hostId, redisUser, enrolmentId],
    );
  }

  /** Whether the host had credentials to remove. */
  /** The hosts that hold credentials of their own now (enrolled, not revoked). */
  async hostsWithCredentials(): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ host_id: string }>('SELECT host_id FROM host_credentials ORDER BY host_id');
    return rows.map((r) => r.host_id);
  }

  async deleteCredentials(db: Db, hostId: string): Promise<boolean> {
    return ((await db.query('DELETE FROM host_credentials WHERE host_id = $1', [hostId])).rowCount ?? 0) > 0;
  }

  async list(): Promise<EnrolmentRecord[]> {
    const { rows } = await this.database.pool.query<EnrolmentRow>('SELECT * FROM host_enrolments ORDER BY created_at DESC');
    return rows.map(toRecord);
  }
}
