import { Inject, Injectable } from '@nestjs/common';
import type { AggregateOutput, EventRecord, EventsSummary, StackEntry, StacksOutput } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';
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

function stackKey(runId: string, output: string): string {
  return `${runId}\u0000${output}`;
}
