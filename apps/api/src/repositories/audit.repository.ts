import { Inject, Injectable } from '@nestjs/common';
import { DatabaseRepository, type Db } from './database.repository';
import type { RefusalWindow } from '../utils/refusal-windows';

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

interface RefusalWindowRow {
  stream_host: string;
  reason: string;
  window_start: Date;
  counted: number;
  first_counted_at: Date | null;
  last_counted_at: Date | null;
  types: Record<string, number>;
}

const windowOf = (r: RefusalWindowRow): RefusalWindow => ({
  streamHost: r.stream_host,
  reason: r.reason,
  windowStart: r.window_start,
  counted: r.counted,
  firstCountedAt: r.first_counted_at,
  lastCountedAt: r.last_counted_at,
  types: r.types,
});

/** A window that ended long ago: what a host and reason without a window of its own is locked as. */
const NO_WINDOW = new Date(0);

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

  /**
   * The refusal windows of these hosts and reasons, locked for the rest of the transaction (one
   * made, as long ended, where there is none), so two ingest processes count one window together.
   */
  async lockRefusalWindows(tx: Db, keys: ReadonlyArray<{ streamHost: string; reason: string }>): Promise<RefusalWindow[]> {
    const sorted = [...new Map(keys.map((k) => [`${k.streamHost}\u0000${k.reason}`, k])).values()].sort((a, b) => a.streamHost.localeCompare(b.streamHost) || a.reason.localeCompare(b.reason));
    const hosts = sorted.map((k) => k.streamHost);
    const reasons = sorted.map((k) => k.reason);
    await tx.query(
      `INSERT INTO ingest_refusal_windows (stream_host, reason, window_start) SELECT h, r, $3 FROM unnest($1::text[], $2::text[]) AS k(h, r) ON CONFLICT DO NOTHING`,
      [hosts, reasons, NO_WINDOW],
    );
    const { rows } = await tx.query<RefusalWindowRow>(
      `SELECT w.* FROM ingest_refusal_windows w JOIN unnest($1::text[], $2::text[]) AS k(h, r) ON w.stream_host = k.h AND w.reason = k.r
       ORDER BY w.stream_host, w.reason FOR UPDATE OF w`,
      [hosts, reasons],
    );
    return rows.map(windowOf);
  }

  async saveRefusalWindows(tx: Db, windows: readonly RefusalWindow[]): Promise<void> {
    for (const w of windows) {
      await tx.query(
        `UPDATE ingest_refusal_windows SET window_start = $3, counted = $4, first_counted_at = $5, last_counted_at = $6, types = $7 WHERE stream_host = $1 AND reason = $2`,
        [w.streamHost, w.reason, w.windowStart, w.counted, w.firstCountedAt, w.lastCountedAt, JSON.stringify(w.types)],
      );
    }
  }

  /**
   * Removes and returns the windows that started at or before `startedBy` (ended): their summaries
   * are the caller's to write. Windows an ingest transaction holds are skipped (it ends them itself,
   * or the next pass does), so this never waits on ingest nor deadlocks with it.
   */
  async takeEndedRefusalWindows(tx: Db, startedBy: Date): Promise<RefusalWindow[]> {
    const { rows } = await tx.query<RefusalWindowRow>(
      `WITH ended AS (
         SELECT stream_host, reason FROM ingest_refusal_windows WHERE window_start <= $1 ORDER BY stream_host, reason FOR UPDATE SKIP LOCKED
       )
       DELETE FROM ingest_refusal_windows w USING ended e WHERE w.stream_host = e.stream_host AND w.reason = e.reason RETURNING w.*`,
      [startedBy],
    );
    return rows.map(windowOf);
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
