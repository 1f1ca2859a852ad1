import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/**
 * Something a query can run on: the pool, or the client of an open transaction. Repositories take one
 * so a service can put writes of several repositories in one transaction without touching pg itself.
 */
export type Db = Pick<pg.Pool, 'query'> | pg.PoolClient;

// bigint (int8) columns arrive as strings by default; our counts and times fit in a double except
// event timestamps, which are selected as text where full precision matters.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

const CONNECT_TIMEOUT_MS = 5000;

@Injectable()
export class DatabaseRepository implements OnApplicationShutdown {
  readonly pool: pg.Pool;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    // A request waiting for a connection fails after a while instead of hanging through an outage: it answers 503.
    this.pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  async transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Runs work on one connection holding a session advisory lock, so concurrent processes take turns. */
  async withAdvisoryLock<T>(key: string, work: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      try {
        return await work(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      }
    } finally {
      client.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
