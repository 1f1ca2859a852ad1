import { Inject, Injectable } from '@nestjs/common';
import type { AggregateOutput, EventRecord, EventsSummary } from '@fleettrace/contracts';
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

export interface EventSummaryRow extends EventsSummary {
  runId: string;
}

/** Multi-row inserts are chunked so one statement never carries an unbounded parameter array. */
const EVENT_INSERT_CHUNK = 5000;

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

  async upsertOutputs(db: Db, runId: string, outputs: readonly AggregateOutput[]): Promise<void> {
    if (outputs.length === 0) return;
    await db.query(
      `INSERT INTO run_outputs (run_id, name, kind, data)
       SELECT $1, u.name, u.kind, u.data FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS u(name, kind, data)
       WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = $1)
       ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, data = excluded.data`,
      [runId, outputs.map((o) => o.name), outputs.map((o) => o.kind), outputs.map((o) => JSON.stringify(o))],
    );
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
    const byRun = new Map<string, AggregateOutput[]>();
    for (const row of rows) byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), row.data]);
    return byRun;
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
