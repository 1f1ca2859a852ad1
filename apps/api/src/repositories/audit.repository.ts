import { Injectable } from '@nestjs/common';
import type { Db } from './database.repository';

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

@Injectable()
export class AuditRepository {
  /** Takes the caller's transaction: an action and its audit row are committed together or not at all. */
  async insert(db: Db, entry: AuditEntry): Promise<void> {
    await db.query('INSERT INTO audit (actor, action, subject, detail) VALUES ($1, $2, $3, $4)', [
      entry.actor,
      entry.action,
      entry.subject,
      JSON.stringify(entry.detail),
    ]);
  }
}
