import { Inject, Injectable } from '@nestjs/common';
import type { AggregateOutput, EventRecord, EventsSummary, StackEntry, StacksOutput } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

/** One stored event record; (runId, seq, idx) identifies it, so a redelivered batch adds nothing. */
export interface EventRow {
  runId: string;
  seq: number;
  idx: number;
  output: string;
  /** Decimal string: kernel times in ns overflow a double's exact range. */
  ts: string;
  data: EventRecord;
}

export interface EventCount {
  runId: string;
  output: string;
  stored: number;
}

/** Which of a job's events to read: all of them unless narrowed. */
export interface EventFilter {
  hostId?: string;
  output?: string;
  /** Text any field's value contains, case-insensitive. */
  contains?: string;
  /** Field name → the exact value its text must have. */
  fields: Record<string, string>;
}

/** A place in a job's event order: (time, host, batch, index). */
export interface EventPosition {
  ts: string;
  hostId: string;
  seq: number;
  idx: number;
}

/** Rows per FETCH when streaming a job's events through a cursor. */
const STREAM_FETCH = 2000;

export interface EventSummaryRow extends EventsSummary {
  runId: string;
}

export interface OutputName {
  runId: string;
  name: string;
  kind: AggregateOutput['kind'];
}

/** Multi-row inserts are chunked so one statement never carries an unbounded parameter array. */
const EVENT_INSERT_CHUNK = 5000;
const STACK_INSERT_CHUNK = 5000;

@Injectable()
export class ResultRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** Inserts records of known runs, skipping any already stored; returns how many were new. */
  async insertEvents(db: Db, events: readonly EventRow[]): Promise<number> {
    let inserted = 0;
    for (let start = 0; start < events.length; start += EVENT_INSERT_CHUNK) {
      const chunk = events.slice(start, start + EVENT_INSERT_CHUNK);
      const result = await db.query(
        `INSERT INTO run_events (run_id, seq, idx, output, ts, data)
         SELECT u.run_id, u.seq, u.idx, u.output, u.ts, u.data
         FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::bigint[], $6::jsonb[]) AS u(run_id, seq, idx, output, ts, data)
         WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = u.run_id)
         ON CONFLICT (run_id, seq, idx) DO NOTHING`,
        [
          chunk.map((e) => e.runId),
          chunk.map((e) => e.seq),
          chunk.map((e) => e.idx),
          chunk.map((e) => e.output),
          chunk.map((e) => e.ts),
          chunk.map((e) => JSON.stringify(e.data)),
        ],
      );
      inserted += result.rowCount ?? 0;
    }
    return inserted;
  }

  /** A stacks output's entries go to run_stacks, a row per folded stack; its run_outputs row keeps the rest. */
  async upsertOutputs(db: Db, runId: string, outputs: readonly AggregateOutput[]): Promise<void> {
    if (outputs.length === 0) return;
    const rows = outputs.map((o) => (o.kind === 'stacks' ? { ...o, entries: [] } : o));
    await db.query(
      `INSERT INTO run_outputs (run_id, name, kind, data)
       SELECT $1, u.name, u.kind, u.data FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS u(name, kind, data)
       WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = $1)
       ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, data = excluded.data`,
      [runId, rows.map((o) => o.name), rows.map((o) => o.kind), rows.map((o) => JSON.stringify(o))],
    );
    const stacks = outputs.filter((o): o is StacksOutput => o.kind === 'stacks');
    if (stacks.length > 0) await this.replaceStacks(db, runId, stacks);
  }

  /** Replaces the run's rows of these outputs, so a summary delivered twice stores its stacks once. */
  private async replaceStacks(db: Db, runId: string, outputs: readonly StacksOutput[]): Promise<void> {
    await db.query('DELETE FROM run_stacks WHERE run_id = $1 AND output = ANY($2::text[])', [runId, outputs.map((o) => o.name)]);
    const rows = outputs.flatMap((o) => o.entries.map((e) => ({ output: o.name, stack: e.stack, value: Math.round(e.value) })));
    for (let start = 0; start < rows.length; start += STACK_INSERT_CHUNK) {
      const chunk = rows.slice(start, start + STACK_INSERT_CHUNK);
      await db.query(
        `INSERT INTO run_stacks (run_id, output, stack, value)
         SELECT $1, u.output, u.stack, u.value FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(output, stack, value)
         WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = $1)`,
        [runId, chunk.map((r) => r.output), chunk.map((r) => r.stack), chunk.map((r) => r.value)],
      );
    }
  }

  /** Keeps a run's newest snapshot only: one delivered late or twice never replaces a newer one. */
  async upsertSnapshot(db: Db, snapshot: { runId: string; seq: number; at: Date; outputs: readonly AggregateOutput[] }): Promise<void> {
    await db.query(
      `INSERT INTO run_snapshots (run_id, job_id, seq, at, outputs)
       SELECT r.id, r.job_id, $2, $3, $4 FROM runs r WHERE r.id = $1
       ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, at = excluded.at, outputs = excluded.outputs
       WHERE run_snapshots.seq < excluded.seq`,
      [snapshot.runId, snapshot.seq, snapshot.at, JSON.stringify(snapshot.outputs)],
    );
  }

  /** The newest snapshot of each run of the job, with when it was taken. */
  async snapshotsOf(jobId: string): Promise<Array<{ runId: string; at: Date; outputs: AggregateOutput[] }>> {
    const { rows } = await this.database.pool.query<{ run_id: string; at: Date; outputs: AggregateOutput[] }>(
      'SELECT run_id, at, outputs FROM run_snapshots WHERE job_id = $1',
      [jobId],
    );
    return rows.map((r) => ({ runId: r.run_id, at: r.at, outputs: r.outputs }));
  }

  async upsertEventSummaries(db: Db, runId: string, summaries: readonly EventsSummary[]): Promise<void> {
    if (summaries.length === 0) return;
    await db.query(
      `INSERT INTO run_event_summaries (run_id, output, received, dropped)
       SELECT $1, u.output, u.received, u.dropped FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS u(output, received, dropped)
       WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = $1)
       ON CONFLICT (run_id, output) DO UPDATE SET received = excluded.received, dropped = excluded.dropped`,
      [runId, summaries.map((s) => s.name), summaries.map((s) => Math.round(s.received)), summaries.map((s) => Math.round(s.dropped))],
    );
  }

  async outputsOf(runIds: readonly string[]): Promise<Map<string, AggregateOutput[]>> {
    const { rows } = await this.database.pool.query<{ run_id: string; data: AggregateOutput }>(
      'SELECT run_id, data FROM run_outputs WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, name',
      [runIds],
    );
    const stacked = rows.filter((row) => row.data.kind === 'stacks');
    const entries = stacked.length > 0 ? await this.stackEntriesOf([...new Set(stacked.map((row) => row.run_id))]) : new Map<string, StackEntry[]>();
    const byRun = new Map<string, AggregateOutput[]>();
    for (const row of rows) {
      const output = row.data.kind === 'stacks' ? { ...row.data, entries: entries.get(stackKey(row.run_id, row.data.name)) ?? [] } : row.data;
      byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), output]);
    }
    return byRun;
  }

  /** One stacks output of each run that has it, entries included. */
  async stacksOf(runIds: readonly string[], output: string): Promise<Map<string, StacksOutput>> {
    const { rows } = await this.database.pool.query<{ run_id: string; data: StacksOutput }>(
      `SELECT run_id, data FROM run_outputs WHERE run_id = ANY($1::uuid[]) AND name = $2 AND kind = 'stacks'`,
      [runIds, output],
    );
    const entries = rows.length > 0 ? await this.stackEntriesOf(rows.map((r) => r.run_id), output) : new Map<string, StackEntry[]>();
    return new Map(rows.map((r) => [r.run_id, { ...r.data, entries: entries.get(stackKey(r.run_id, output)) ?? [] }]));
  }

  /** Which outputs (name and kind) the runs returned. */
  async outputNamesOf(runIds: readonly string[]): Promise<OutputName[]> {
    const { rows } = await this.database.pool.query<{ run_id: string; name: string; kind: AggregateOutput['kind'] }>(
      'SELECT run_id, name, kind FROM run_outputs WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, name',
      [runIds],
    );
    return rows.map((r) => ({ runId: r.run_id, name: r.name, kind: r.kind }));
  }

  /** Stack rows by run and output, largest first, ties in byte order of the stack (as the daemon sorts them). */
  private async stackEntriesOf(runIds: readonly string[], output?: string): Promise<Map<string, StackEntry[]>> {
    const { rows } = await this.database.pool.query<{ run_id: string; output: string; stack: string; value: number }>(
      `SELECT run_id, output, stack, value::float8 AS value FROM run_stacks
       WHERE run_id = ANY($1::uuid[]) AND ($2::text IS NULL OR output = $2)
       ORDER BY run_id, output, value DESC, stack COLLATE "C"`,
      [runIds, output ?? null],
    );
    const byOutput = new Map<string, StackEntry[]>();
    for (const row of rows) {
      const key = stackKey(row.run_id, row.output);
      const list = byOutput.get(key);
      if (list) list.push({ stack: row.stack, value: row.value });
      else byOutput.set(key, [{ stack: row.stack, value: row.value }]);
    }
    return byOutput;
  }

  /** The first `limitPerOutput` records by time of each run and output. */
  async eventsOf(runIds: readonly string[], limitPerOutput: number): Promise<EventRow[]> {
    const { rows } = await this.database.pool.query<{
      run_id: string;
      seq: number;
      idx: number;
      output: string;
      ts: string;
      data: EventRecord;
    }>(
      `SELECT run_id, seq, idx, output, ts::text AS ts, data FROM (
         SELECT e.*, row_number() OVER (PARTITION BY e.run_id, e.output ORDER BY e.ts, e.seq, e.idx) AS n
         FROM run_events e WHERE e.run_id = ANY($1::uuid[])
       ) ranked
       WHERE n <= $2
       ORDER BY run_id, output, n`,
      [runIds, limitPerOutput],
    );
    return rows.map((r) => ({ runId: r.run_id, seq: r.seq, idx: r.idx, output: r.output, ts: r.ts, data: r.data }));
  }

  /** The job's events in (time, host, seq, idx) order, after `after`, at most `limit`, filtered. */
  async eventPage(jobId: string, filter: EventFilter, limit: number, after?: EventPosition): Promise<Array<EventRow & { hostId: string }>> {
    const { sql, values } = eventQuery(jobId, filter, after);
    values.push(limit);
    const { rows } = await this.database.pool.query<EventQueryRow>(`${sql} LIMIT $${values.length}`, values);
    return rows.map(toEventRow);
  }

  /**
   * Every event of the job in order, in chunks, through a server-side cursor on a connection of its
   * own: the job may hold millions of rows, and neither side ever holds more than one chunk.
   */
  async *streamEvents(jobId: string, filter: EventFilter): AsyncGenerator<Array<EventRow & { hostId: string }>> {
    const { sql, values } = eventQuery(jobId, filter);
    const client = await this.database.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`DECLARE job_events NO SCROLL CURSOR FOR ${sql}`, values);
      for (;;) {
        const { rows } = await client.query<EventQueryRow>(`FETCH ${STREAM_FETCH} FROM job_events`);
        if (rows.length === 0) break;
        yield rows.map(toEventRow);
      }
      await client.query('COMMIT');
    } finally {
      // A client that went away mid-stream leaves the transaction open: end it before the pool reuses the connection.
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  async eventCountsOf(runIds: readonly string[]): Promise<EventCount[]> {
    const { rows } = await this.database.pool.query<{ run_id: string; output: string; stored: number }>(
      'SELECT run_id, output, count(*) AS stored FROM run_events WHERE run_id = ANY($1::uuid[]) GROUP BY run_id, output',
      [runIds],
    );
    return rows.map((r) => ({ runId: r.run_id, output: r.output, stored: r.stored }));
  }

  async eventSummariesOf(runIds: readonly string[]): Promise<EventSummaryRow[]> {
    const { rows } = await this.database.pool.query<{ run_id: string; output: string; received: number; dropped: number }>(
      'SELECT run_id, output, received, dropped FROM run_event_summaries WHERE run_id = ANY($1::uuid[])',
      [runIds],
    );
    return rows.map((r) => ({ runId: r.run_id, kind: 'events', name: r.output, received: r.received, dropped: r.dropped }));
  }
}

function stackKey(runId: string, output: string): string {
  return `${runId}\u0000${output}`;
}

interface EventQueryRow {
  run_id: string;
  host_id: string;
  seq: number;
  idx: number;
  output: string;
  ts: string;
  data: EventRecord;
}

function toEventRow(row: EventQueryRow): EventRow & { hostId: string } {
  return { runId: row.run_id, hostId: row.host_id, seq: row.seq, idx: row.idx, output: row.output, ts: row.ts, data: row.data };
}

/** LIKE pattern of a literal text: its own % and _ match themselves. */
function likeLiteral(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The SELECT of a job's events in order, filtered; values are its parameters. */
function eventQuery(jobId: string, filter: EventFilter, after?: EventPosition): { sql: string; values: unknown[] } {
  const values: unknown[] = [jobId];
  const where = ['r.job_id = $1'];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.hostId !== undefined) where.push(`r.host_id = ${param(filter.hostId)}`);
  if (filter.output !== undefined) where.push(`e.output = ${param(filter.output)}`);
  for (const [field, value] of Object.entries(filter.fields)) where.push(`e.data ->> ${param(field)} = ${param(value)}`);
  if (filter.contains !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM jsonb_each_text(e.data) kv WHERE kv.value ILIKE ${param(likeLiteral(filter.contains))})`);
  }
  if (after) where.push(`(e.ts, r.host_id, e.seq, e.idx) > (${param(after.ts)}::bigint, ${param(after.hostId)}, ${param(after.seq)}, ${param(after.idx)})`);
  return {
    sql: `SELECT e.run_id, r.host_id, e.seq, e.idx, e.output, e.ts::text AS ts, e.data FROM run_events e JOIN runs r ON r.id = e.run_id
      WHERE ${where.join(' AND ')} ORDER BY e.ts, r.host_id, e.seq, e.idx`,
    values,
  };
}
