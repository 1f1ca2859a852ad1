import pg from 'pg';

/** A short-lived connection to a test database, for checking what was stored rather than what the API says. */
export async function withDb<T>(databaseUrl: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client(databaseUrl);
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** Rows of a per-run table (run_events, run_outputs, ...) belonging to one run. */
export async function countRows(databaseUrl: string, table: string, runId: string): Promise<number> {
  return withDb(databaseUrl, async (db) => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [runId]);
    return rows[0].n as number;
  });
}
