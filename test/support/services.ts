import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, startPostgres, startRedis, stopPostgres, stopRedis } from '@fleettrace/infra/stack';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URL of the test PostgreSQL; each suite creates its own database on it. */
    postgresUrl: string;
    /** URL of the test Redis; each suite uses its own key prefix. */
    redisUrl: string;
  }
}

/**
 * Real PostgreSQL and Redis for the whole test run, started once from the Debian binaries in a
 * throwaway directory, or taken from FLEETTRACE_TEST_POSTGRES_URL / FLEETTRACE_TEST_REDIS_URL.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  const baseDir = mkdtempSync(join(tmpdir(), 'fleettrace-test-'));
  // mkdtemp makes it 0700; the postgres user must be able to reach its own directory inside.
  chmodSync(baseDir, 0o755);
  let postgresUrl = process.env.FLEETTRACE_TEST_POSTGRES_URL;
  if (!postgresUrl) {
    const pg = await startPostgres({ baseDir: join(baseDir, 'pg'), port: await freePort(), durable: false });
    postgresUrl = pg.url;
    stops.push(() => stopPostgres(pg.pid));
  }
  let redisUrl = process.env.FLEETTRACE_TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedis({ baseDir: join(baseDir, 'redis'), port: await freePort() });
    redisUrl = redis.url;
    stops.push(() => stopRedis(redis.pid));
  }
  project.provide('postgresUrl', postgresUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    for (const stop of stops.reverse()) await stop();
    rmSync(baseDir, { recursive: true, force: true });
  };
}
