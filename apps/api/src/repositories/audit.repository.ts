import { Inject, Injectable } from '@nestjs/common';
import { DatabaseRepository, type Db } from './database.repository';

export interface AuditEntry {
  /** The token id; null when authentication failed and no token matched. */
  actor: string | null;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
  /** The client's address; null for what no request caused (a schedule's firing). */
  address?: string | null;
  /** sha256 of the program's text (bpftrace script or C source). */
  programSha256?: string | null;
}

export interface AuditRecord extends Required<AuditEntry> {
  id: number;
  at: Date;
}

export interface AuditFilter {
  actor?: string;
  /** An exact action ("job.create"), or a family ending in a dot ("schedule."). */
  action?: string;
  subject?: string;
  address?: string;
  since?: Date;
  until?: Date;
}

interface AuditRow {
  id: number;
  at: Date;
  actor: string | null;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
  address: string | null;
  program_sha256: string | null;
}

@Injectable()
export class AuditRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** Takes the caller's transaction: an action and its audit row are committed together or not at all. */
  async insert(db: Db, entry: AuditEntry): Promise<void> {
    await db.query('INSERT INTO audit (actor, action, subject, detail, address, program_sha256) VALUES ($1, $2, $3, $4, $5, $6)', [
      entry.actor,
      entry.action,
      entry.subject,
      JSON.stringify(entry.detail),
      entry.address ?? null,
      entry.programSha256 ?? null,
    ]);
  }

  /** A record of something refused, which has no transaction of its own to join. */
  async record(entry: AuditEntry): Promise<void> {
    await this.insert(this.database.pool, entry);
  }

  /** Newest first, `limit` of them, with ids below `beforeId`. */
  async list(filter: AuditFilter, limit: number, beforeId?: number): Promise<AuditRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (param: string) => string, value: unknown): void => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    if (filter.actor) add((p) => `actor = ${p}`, filter.actor);
    if (filter.action?.endsWith('.')) add((p) => `starts_with(action, ${p})`, filter.action);
    else if (filter.action) add((p) => `action = ${p}`, filter.action);
    if (filter.subject) add((p) => `subject = ${p}`, filter.subject);
    if (filter.address) add((p) => `address = ${p}`, filter.address);
    if (filter.since) add((p) => `at >= ${p}`, filter.since);
    if (filter.until) add((p) => `at < ${p}`, filter.until);
    if (beforeId !== undefined) add((p) => `id < ${p}`, beforeId);
    values.push(limit);
    const { rows } = await this.database.pool.query<AuditRow>(
      `SELECT id, at, actor, action, subject, detail, address, program_sha256 FROM audit
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, subject: r.subject, detail: r.detail, address: r.address, programSha256: r.program_sha256 }));
  }
}
