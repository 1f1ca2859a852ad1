import { Inject, Injectable, Logger } from '@nestjs/common';
import { RUN_STATE_MEANINGS, RUN_STATES, isTerminalRunState, runStateTransitionPairs } from '@fleettrace/contracts';
import { MIGRATIONS, type Migration } from '../migrations';
import { DatabaseRepository } from './database.repository';

@Injectable()
export class MigrationRepository {
  private readonly logger = new Logger('Migrations');

  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /**
   * Applies what is not applied yet, each migration in its own transaction. The advisory lock makes
   * concurrent starts (several API replicas) wait for one another instead of racing on DDL.
   */
  async migrate(migrations: readonly Migration[] = MIGRATIONS): Promise<string[]> {
    return this.database.withAdvisoryLock('fleettrace.schema_migrations', async (db) => {
      await db.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await db.query<{ name: string }>('SELECT name FROM schema_migrations');
      const applied = new Set(rows.map((r) => r.name));
      const done: string[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.name)) continue;
        await db.query('BEGIN');
        try {
          await db.query(migration.sql);
          await db.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
          await db.query('COMMIT');
        } catch (error) {
          await db.query('ROLLBACK');
          throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
        }
        this.logger.log(`applied ${migration.name}`);
        done.push(migration.name);
      }
      const { rows: machine } = await db.query<{ present: boolean }>("SELECT to_regclass('run_state_transitions') IS NOT NULL AS present");
      if (machine[0]?.present) await syncRunStateMachine(db);
      return done;
    });
  }
}

/**
 * Writes the run state machine of libs/contracts into run_states and run_state_transitions, which
 * the runs trigger checks every state change against: the table in code is the one in the
 * database. In one transaction, so no state change ever sees half of it.
 */
async function syncRunStateMachine(db: { query: (text: string, values?: unknown[]) => Promise<unknown> }): Promise<void> {
  const pairs = runStateTransitionPairs();
  await db.query('BEGIN');
  try {
    await db.query(
      `INSERT INTO run_states (name, terminal, meaning) SELECT * FROM unnest($1::text[], $2::boolean[], $3::text[])
       ON CONFLICT (name) DO UPDATE SET terminal = excluded.terminal, meaning = excluded.meaning`,
      [RUN_STATES, RUN_STATES.map(isTerminalRunState), RUN_STATES.map((s) => RUN_STATE_MEANINGS[s])],
    );
    await db.query('DELETE FROM run_state_transitions');
    await db.query('INSERT INTO run_state_transitions (from_state, to_state) SELECT * FROM unnest($1::text[], $2::text[])', [
      pairs.map(([from]) => from),
      pairs.map(([, to]) => to),
    ]);
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw new Error(`could not write the run state machine into the database: ${(error as Error).message}`, { cause: error });
  }
}
