import { chmodSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { cgroup2Root } from '@fleettrace/infra';
import { freePort, sleep, startPostgres, startRedis, stopPostgres, stopRedis } from '@fleettrace/infra/stack';
import { bpfBaseline, bpfCreatedSince } from './bpf-leak-check';

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
/**
 * Suites make their cgroups under one parent and remove their own. The parent goes once empty: a
 * plain rmdir, which fails harmlessly while another test run still has cgroups in it.
 */
function removeEmptyTestCgroupParent(): void {
  try {
    rmdirSync(join(cgroup2Root(), 'fleettrace-test'));
  } catch {
    // absent, or still in use by another run
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  const bpf = bpfBaseline();
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
    removeEmptyTestCgroupParent();
    // No BPF program, link or map created during the run may outlive it. The kernel frees them
    // after an RCU grace period, so a leak is whatever is still there a moment later.
    let leaked = bpfCreatedSince(bpf);
    for (let i = 0; i < 50 && leaked.length > 0; i++) {
      await sleep(100);
      leaked = bpfCreatedSince(bpf);
    }
    if (leaked.length > 0) {
      // Vitest reports a teardown error but keeps its exit code: set it, so a leak fails the run.
      process.exitCode = 1;
      throw new Error(`BPF objects created by the tests outlived them: ${leaked.join(', ')}`);
    }
  };
}
