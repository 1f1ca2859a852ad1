import { Inject, Injectable, Logger } from '@nestjs/common';
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
      return done;
    });
  }
}
