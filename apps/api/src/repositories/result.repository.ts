import { Inject, Injectable } from '@nestjs/common';
import type { AggregateOutput, EventRecord, EventsSummary, JobState, StackEntry, StacksOutput } from '@fleettrace/contracts';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { DatabaseRepository, type Db, type TxClient } from './database.repository';
import { inRounds } from '../utils/rounds';

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
const STACK_INSERT_CHUNK = 5000;
/** Rows per string written to a COPY: large enough to keep writes few, small enough to keep memory flat. */
const COPY_CHUNK_ROWS = 1000;

/** Where a page of a job's events ends: the next page starts after it. */
export interface EventCursor {
  /** Decimal string, as EventRow.ts. */
  ts: string;
  host: string;
  seq: number;
  idx: number;
}

export interface EventsPageQuery {
  output: string;
  /** One host's events only. */
  host?: string;
  /** Records whose fields have these values, compared as text (`data->>field`). */
  fields?: Record<string, string>;
  /** Records with this text in a value: of `field`, or of any field. */
  contains?: { text: string; field?: string };
  after?: EventCursor;
  limit: number;
}

export interface PagedEvent extends EventRow {
  host: string;
}

@Injectable()
export class ResultRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /**
   * Stores records of known runs, skipping any already stored; returns how many were new. A run's
   * records arrive in batches (seq) stored whole in one transaction, so a batch with any row stored
   * is stored: those are skipped, as are repeats within the call and records of runs nobody knows
   * (or whose events retention removed), and the rest go in by one COPY, the cheapest way in. Should
   * another consumer store the same batch at the same moment, the primary key refuses the second
   * (a DataRejectedError that passes when tried again, since the batch is then found stored).
   */
  async insertEvents(tx: TxClient, events: readonly EventRow[]): Promise<number> {
    if (events.length === 0) return 0;
    const { rows: runs } = await tx.query<{ id: string; job_id: string; host_id: string }>(
      'SELECT id, job_id, host_id FROM runs WHERE id = ANY ($1::uuid[]) AND events_expired_at IS NULL',
      [[...new Set(events.map((e) => e.runId))]],
    );
    const owners = new Map(runs.map((r) => [r.id, r]));
    const batches = new Map<string, { runId: string; seq: number }>();
    for (const e of events) if (owners.has(e.runId)) batches.set(`${e.runId} ${e.seq}`, { runId: e.runId, seq: e.seq });
    if (batches.size === 0) return 0;
    const { rows: stored } = await tx.query<{ run_id: string; seq: number }>(
      `SELECT DISTINCT run_id, seq FROM run_events WHERE (run_id, seq) IN (SELECT * FROM unnest($1::uuid[], $2::int[]))`,
      [[...batches.values()].map((b) => b.runId), [...batches.values()].map((b) => b.seq)],
    );
    const skip = new Set(stored.map((r) => `${r.run_id} ${r.seq}`));
    const seen = new Set<string>();
    const rows = events.filter((e) => {
      const key = `${e.runId} ${e.seq} ${e.idx}`;
      if (!owners.has(e.runId) || skip.has(`${e.runId} ${e.seq}`) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (rows.length === 0) return 0;
    const copy = tx.query(copyFrom('COPY run_events (run_id, job_id, host_id, seq, idx, output, ts, data) FROM STDIN'));
    await pipeline(Readable.from(copyChunks(rows, owners)), copy);
    return rows.length;
  }

  /**
   * Stores runs' aggregate outputs, replacing what a run already had under the same names. A
   * stacks output's entries go to run_stacks, a row per folded stack; its run_outputs row keeps the rest.
   */
  async upsertOutputs(db: Db, runs: ReadonlyArray<{ runId: string; outputs: readonly AggregateOutput[] }>): Promise<void> {
    for (const round of inRounds(runs, (r) => r.runId)) {
      const rows = round.flatMap(({ runId, outputs }) => outputs.map((o) => ({ runId, output: o.kind === 'stacks' ? { ...o, entries: [] } : o })));
      if (rows.length === 0) continue;
      await db.query(
        `INSERT INTO run_outputs (run_id, name, kind, data)
         SELECT u.run_id, u.name, u.kind, u.data FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) AS u(run_id, name, kind, data)
         WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = u.run_id)
         ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, data = excluded.data`,
        [rows.map((r) => r.runId), rows.map((r) => r.output.name), rows.map((r) => r.output.kind), rows.map((r) => JSON.stringify(r.output))],
      );
      const stacks = round.flatMap(({ runId, outputs }) => outputs.filter((o): o is StacksOutput => o.kind === 'stacks').map((output) => ({ runId, output })));
      if (stacks.length > 0) await this.replaceStacks(db, stacks);
    }
  }

  /** Replaces the runs' rows of these outputs, so a summary delivered twice stores its stacks once. */
  private async replaceStacks(db: Db, outputs: ReadonlyArray<{ runId: string; output: StacksOutput }>): Promise<void> {
    await db.query('DELETE FROM run_stacks s USING unnest($1::uuid[], $2::text[]) AS u(run_id, output) WHERE s.run_id = u.run_id AND s.output = u.output', [
      outputs.map((o) => o.runId),
      outputs.map((o) => o.output.name),
    ]);
    const rows = outputs.flatMap(({ runId, output }) => output.entries.map((e) => ({ runId, output: output.name, stack: e.stack, value: Math.round(e.value) })));
    for (let start = 0; start < rows.length; start += STACK_INSERT_CHUNK) {
      const chunk = rows.slice(start, start + STACK_INSERT_CHUNK);
      await db.query(
        `INSERT INTO run_stacks (run_id, output, stack, value)
         SELECT u.run_id, u.output, u.stack, u.value FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[]) AS u(run_id, output, stack, value)
         WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = u.run_id)`,
        [chunk.map((r) => r.runId), chunk.map((r) => r.output), chunk.map((r) => r.stack), chunk.map((r) => r.value)],
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

  async upsertEventSummaries(db: Db, runs: ReadonlyArray<{ runId: string; events: readonly EventsSummary[] }>): Promise<void> {
    for (const round of inRounds(runs, (r) => r.runId)) {
      const rows = round.flatMap(({ runId, events }) => events.map((e) => ({ runId, ...e })));
      if (rows.length === 0) continue;
      await db.query(
        `INSERT INTO run_event_summaries (run_id, output, received, dropped)
         SELECT u.run_id, u.output, u.received, u.dropped FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[]) AS u(run_id, output, received, dropped)
         WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = u.run_id)
         ON CONFLICT (run_id, output) DO UPDATE SET received = excluded.received, dropped = excluded.dropped`,
        [rows.map((r) => r.runId), rows.map((r) => r.name), rows.map((r) => Math.round(r.received)), rows.map((r) => Math.round(r.dropped))],
      );
    }
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

  /**
   * The first `limitPerOutput` records by time of each run and output. Each run's outputs are found
   * by skipping through run_events_by_run (one probe per output, however many records it has), and
   * each output's first records are read from it in order: the read costs the records returned, not
   * the records stored.
   */
  async eventsOf(runIds: readonly string[], limitPerOutput: number): Promise<EventRow[]> {
    const { rows } = await this.database.pool.query<EventRowRow>(
      `WITH RECURSIVE outputs AS (
         SELECT r.id AS run_id, (SELECT min(e.output) FROM run_events e WHERE e.run_id = r.id) AS output
         FROM unnest($1::uuid[]) AS r(id)
         UNION ALL
         SELECT o.run_id, (SELECT min(e.output) FROM run_events e WHERE e.run_id = o.run_id AND e.output > o.output)
         FROM outputs o WHERE o.output IS NOT NULL
       )
       SELECT e.run_id, e.seq, e.idx, e.output, e.ts::text AS ts, e.data
       FROM outputs o CROSS JOIN LATERAL (
         SELECT * FROM run_events e WHERE e.run_id = o.run_id AND e.output = o.output ORDER BY e.ts, e.seq, e.idx LIMIT $2
       ) e
       WHERE o.output IS NOT NULL
       ORDER BY e.run_id, e.output, e.ts, e.seq, e.idx`,
      [runIds, limitPerOutput],
    );
    return rows.map(toEventRow);
  }

  /**
   * One page of a job's records of one output, in (ts, host, seq, idx) order, after `after`. The
   * whole job's page walks run_events_by_job; one host's walks its run's run_events_by_run. Filters
   * are checked on the rows walked, so a page stops as soon as it is full.
   */
  async eventsPage(jobId: string, query: EventsPageQuery): Promise<PagedEvent[]> {
    const { sql, values } = eventsPageQuery(jobId, query);
    values.push(query.limit);
    const { rows } = await this.database.pool.query<EventRowRow & { host_id: string }>(`${sql} LIMIT $${values.length}`, values);
    return rows.map((r) => ({ ...toEventRow(r), host: r.host_id }));
  }

  /**
   * Every record of one output of a job in page order, in chunks, through a server-side cursor on a
   * connection of its own: the job may hold millions, and neither side ever holds more than a chunk.
   */
  async *streamEvents(jobId: string, query: Omit<EventsPageQuery, 'limit' | 'after'>): AsyncGenerator<PagedEvent[]> {
    const { sql, values } = eventsPageQuery(jobId, { ...query, limit: 0 });
    const client = await this.database.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`DECLARE job_events NO SCROLL CURSOR FOR ${sql}`, values);
      for (;;) {
        const { rows } = await client.query<EventRowRow & { host_id: string }>(`FETCH ${STREAM_FETCH} FROM job_events`);
        if (rows.length === 0) break;
        yield rows.map((r) => ({ ...toEventRow(r), host: r.host_id }));
      }
      await client.query('COMMIT');
    } finally {
      // A client that went away mid-stream leaves the transaction open: end it before the pool reuses the connection.
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  /** The outputs a job has events in, by skipping through run_events_by_job: one probe per output. */
  async eventOutputsOf(jobId: string): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ output: string }>(
      `WITH RECURSIVE outputs AS (
         SELECT (SELECT min(output) FROM run_events WHERE job_id = $1) AS output
         UNION ALL
         SELECT (SELECT min(output) FROM run_events WHERE job_id = $1 AND output > o.output) FROM outputs o WHERE o.output IS NOT NULL
       )
       SELECT output FROM outputs WHERE output IS NOT NULL`,
      [jobId],
    );
    return rows.map((r) => r.output);
  }

  /**
   * What a job's stored results depend on besides its runs' outputs, which a completed job no longer
   * changes: its state, and how many of its runs retention has emptied of events.
   */
  async resultsVersion(jobId: string): Promise<{ state: JobState; eventsExpiredRuns: number } | undefined> {
    const { rows } = await this.database.pool.query<{ state: JobState; expired: number }>(
      `SELECT j.state, (SELECT count(*)::int FROM runs r WHERE r.job_id = j.id AND r.events_expired_at IS NOT NULL) AS expired
       FROM jobs j WHERE j.id = $1`,
      [jobId],
    );
    return rows[0] && { state: rows[0].state, eventsExpiredRuns: rows[0].expired };
  }

  /** Runs that finished before `cutoff` whose events are still kept, oldest first. */
  async runsWithEventsFinishedBefore(cutoff: Date, limit: number): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ id: string }>(
      'SELECT id FROM runs WHERE events_expired_at IS NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2',
      [cutoff, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Deletes at most `limit` events of these runs, in one short statement so locks and the undo a
   * vacuum must clean stay small; returns how many went.
   */
  async deleteEventsOf(runIds: readonly string[], limit: number): Promise<number> {
    const result = await this.database.pool.query(
      `DELETE FROM run_events WHERE ctid = ANY (ARRAY (SELECT ctid FROM run_events WHERE run_id = ANY ($1::uuid[]) LIMIT $2))`,
      [runIds, limit],
    );
    return result.rowCount ?? 0;
  }

  /** Marks the runs' events gone: retention skips them from now on, and ingest stores none for them. */
  async markEventsExpired(runIds: readonly string[], at: Date): Promise<void> {
    await this.database.pool.query('UPDATE runs SET events_expired_at = $2 WHERE id = ANY ($1::uuid[])', [runIds, at]);
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

interface EventRowRow {
  run_id: string;
  seq: number;
  idx: number;
  output: string;
  ts: string;
  data: EventRecord;
}

function toEventRow(r: EventRowRow): EventRow {
  return { runId: r.run_id, seq: r.seq, idx: r.idx, output: r.output, ts: r.ts, data: r.data };
}

/** COPY text format: tab-separated columns, one row a line, backslash escapes. */
function* copyChunks(events: readonly EventRow[], owners: ReadonlyMap<string, { job_id: string; host_id: string }>): Generator<string> {
  for (let start = 0; start < events.length; start += COPY_CHUNK_ROWS) {
    let chunk = '';
    const end = Math.min(start + COPY_CHUNK_ROWS, events.length);
    for (let i = start; i < end; i++) {
      const e = events[i]!;
      const owner = owners.get(e.runId)!;
      // JSON.stringify escapes every control character, so a backslash is all it can hold that COPY reads specially.
      const json = JSON.stringify(e.data);
      chunk += `${e.runId}\t${owner.job_id}\t${copyText(owner.host_id)}\t${e.seq}\t${e.idx}\t${copyText(e.output)}\t${e.ts}\t${json.includes('\\') ? json.replaceAll('\\', '\\\\') : json}\n`;
    }
    yield chunk;
  }
}

const COPY_SPECIAL = /[\\\t\n\r]/;

function copyText(text: string): string {
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
}

function stackKey(runId: string, output: string): string {
  return `${runId}\u0000${output}`;
}

/**
 * The SELECT of one page of a job's records of one output, in (ts, host, seq, idx) order, after
 * `after`, filtered; no LIMIT (the caller adds one, or reads through a cursor). The whole job's
 * page walks run_events_by_job; one host's walks its run's run_events_by_run. Filters are checked
 * on the rows walked, so a page stops as soon as it is full.
 */
function eventsPageQuery(jobId: string, query: EventsPageQuery): { sql: string; values: unknown[] } {
  const values: unknown[] = [jobId, query.output];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where: string[] = ['e.output = $2'];
  let order: string;
  if (query.host === undefined) {
    where.push('e.job_id = $1');
    if (query.after) {
      const { ts, host, seq, idx } = query.after;
      where.push(`(e.ts, e.host_id, e.seq, e.idx) > (${param(ts)}::bigint, ${param(host)}::text, ${param(seq)}::int, ${param(idx)}::int)`);
    }
    order = 'e.ts, e.host_id, e.seq, e.idx';
  } else {
    where.push(`e.run_id = (SELECT r.id FROM runs r WHERE r.job_id = $1 AND r.host_id = ${param(query.host)})`);
    if (query.after) {
      const { ts, host, seq, idx } = query.after;
      // Within one host, the cursor's host decides only whether its own (ts) ties still come.
      where.push(
        host < query.host
          ? `e.ts >= ${param(ts)}::bigint`
          : host === query.host
            ? `(e.ts, e.seq, e.idx) > (${param(ts)}::bigint, ${param(seq)}::int, ${param(idx)}::int)`
            : `e.ts > ${param(ts)}::bigint`,
      );
    }
    order = 'e.ts, e.seq, e.idx';
  }
  for (const [name, equals] of Object.entries(query.fields ?? {})) where.push(`e.data->>${param(name)} = ${param(equals)}`);
  if (query.contains) {
    const text = param(query.contains.text);
    where.push(
      query.contains.field === undefined
        ? `EXISTS (SELECT 1 FROM jsonb_each_text(e.data) AS f WHERE strpos(f.value, ${text}) > 0)`
        : `strpos(e.data->>${param(query.contains.field)}, ${text}) > 0`,
    );
  }
  return {
    sql: `SELECT e.run_id, e.host_id, e.seq, e.idx, e.output, e.ts::text AS ts, e.data FROM run_events e WHERE ${where.join(' AND ')} ORDER BY ${order}`,
    values,
  };
}
