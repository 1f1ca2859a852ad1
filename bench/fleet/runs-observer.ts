import pg from 'pg';
import type { RunState } from '@fleettrace/contracts';

/** A job's runs at one moment: how many there are, in which states, and when hosts said the last of them happened. */
export interface RunsProgress {
  total: number;
  started: number;
  states: Partial<Record<RunState, number>>;
  /** Epoch ms of the latest dispatched_at / started_at / finished_at, as the hosts reported them. */
  lastDispatchedAt: number | null;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
}

const POLL_MS = 10;

/**
 * Watches runs in PostgreSQL directly rather than through GET /v1/jobs/:id: a state is visible
 * there the moment ingest commits it, which is when the API would show it, and a poll every 10 ms
 * is one indexed count; a job view of 1,000 runs polled as often would load the API being measured.
 */
export class RunsObserver {
  private constructor(private readonly client: pg.Client) {}

  static async connect(databaseUrl: string): Promise<RunsObserver> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    return new RunsObserver(client);
  }

  async progress(jobId: string): Promise<RunsProgress> {
    const { rows } = await this.client.query<{ state: RunState; n: number; started: number; dispatched: number | null; running: number | null; finished: number | null }>(
      `SELECT state, count(*)::int AS n, count(started_at)::int AS started,
         (extract(epoch FROM max(dispatched_at)) * 1000)::float8 AS dispatched,
         (extract(epoch FROM max(started_at)) * 1000)::float8 AS running,
         (extract(epoch FROM max(finished_at)) * 1000)::float8 AS finished
       FROM runs WHERE job_id = $1 GROUP BY state`,
      [jobId],
    );
    const latest = (values: Array<number | null>) => values.reduce<number | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
    return {
      total: rows.reduce((sum, r) => sum + r.n, 0),
      started: rows.reduce((sum, r) => sum + r.started, 0),
      states: Object.fromEntries(rows.map((r) => [r.state, r.n])),
      lastDispatchedAt: latest(rows.map((r) => r.dispatched)),
      lastStartedAt: latest(rows.map((r) => r.running)),
      lastFinishedAt: latest(rows.map((r) => r.finished)),
    };
  }

  /**
   * Polls until `done` holds for the job's runs; returns the epoch ms it was first seen holding and
   * the runs then. Fails at once if `impossible` holds, and after `timeoutMs`.
   */
  async until(
    jobId: string,
    what: string,
    done: (p: RunsProgress) => boolean,
    impossible: (p: RunsProgress) => boolean,
    timeoutMs: number,
  ): Promise<{ at: number; progress: RunsProgress }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const progress = await this.progress(jobId);
      const at = Date.now();
      if (progress.total > 0 && done(progress)) return { at, progress };
      if (impossible(progress)) throw new Error(`job ${jobId}: runs can no longer all be ${what}: ${JSON.stringify(progress.states)}`);
      if (at > deadline) throw new Error(`job ${jobId}: runs not all ${what} after ${timeoutMs} ms: ${JSON.stringify(progress.states)}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Jobs not completed yet, so one measurement never overlaps the last one's tail. */
  async runningJobs(): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE state = 'running'`);
    return rows[0]!.n;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
