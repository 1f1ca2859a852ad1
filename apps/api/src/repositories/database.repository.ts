import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/**
 * Something a query can run on: the pool, or the client of an open transaction. Repositories take one
 * so a service can put writes of several repositories in one transaction without touching pg itself.
 */
export type Db = Pick<pg.Pool, 'query'> | pg.PoolClient;

declare const openTransaction: unique symbol;

/**
 * The connection of an open transaction (or read snapshot), as only transaction() and snapshot()
 * hand it out. A repository method that reads or writes for a transaction takes this, never a pool
 * default: given nothing, or the pool, it does not compile, so no query meant for a transaction can
 * take a second pool connection while the transaction holds one (enough of those at once starve
 * the pool) or read outside the transaction's snapshot.
 */
export type TxClient = pg.PoolClient & { readonly [openTransaction]: true };

/**
 * The database refused the data itself: running the same statement with the same data would fail
 * the same way, so retrying cannot help. Anything else (a lost connection, a shutdown, a timeout, a
 * deadlock, a missing column after a bad deploy) may pass on a retry and is not this.
 */
export class DataRejectedError extends Error {
  constructor(
    message: string,
    /** The SQLSTATE, e.g. 22P02. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'DataRejectedError';
  }
}

/**
 * SQLSTATE classes that depend only on the data written: 22 (data exception: bad json, out of
 * range, bad encoding), 23 (integrity: a check or key refused a row) and 54 (a limit the data
 * passed, e.g. an index row too large). Connection loss, admin shutdown (57), resources (53),
 * serialization and deadlocks (40) and schema errors (42) are not.
 */
const DATA_ERROR_CLASSES = new Set(['21', '22', '23', '54']);

/** The error as DataRejectedError if the database refused the data, else as it was. */
export function asDataRejected(error: unknown): unknown {
  if (error instanceof pg.DatabaseError && error.code && DATA_ERROR_CLASSES.has(error.code.slice(0, 2))) {
    return new DataRejectedError(error.detail ? `${error.message} (${error.detail})` : error.message, error.code);
  }
  return error;
}

// bigint (int8) columns arrive as strings by default; our counts and times fit in a double except
// event timestamps, which are selected as text where full precision matters.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

const CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_DATABASE_POOL_SIZE = 10;

@Injectable()
export class DatabaseRepository implements OnApplicationShutdown {
  readonly pool: pg.Pool;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    // A request waiting for a connection fails after a while instead of hanging through an outage: it answers 503.
    this.pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.databasePoolSize ?? DEFAULT_DATABASE_POOL_SIZE, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
    // Nor a checked-out one: the pool listens for errors on idle clients only, so a client held
    // between two queries of a transaction when PostgreSQL goes away (it tells every backend
    // "terminating connection due to administrator command") emitted 'error' with no listener, and
    // Node ended the API. Its next query fails instead, and the pool drops it when it is released.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Rejects with DataRejectedError when the database refused the data written, else with what failed. */
  async transaction<T>(work: (tx: TxClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client as TxClient);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw asDataRejected(error);
    } finally {
      client.release();
    }
  }

  /**
   * Reads on one snapshot of the database: what several queries return then agrees, as no write can
   * land between them (a view of a job whose runs were released but whose timeline lacks the release).
   */
  async snapshot<T>(work: (tx: TxClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await work(client as TxClient);
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
