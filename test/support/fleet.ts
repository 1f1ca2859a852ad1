import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { cgroup2Root, removeCgroup } from '@fleettrace/infra';
import { startApi, startDaemon, waitForHostsOnline, type RunningApi, type RunningDaemon } from '@fleettrace/infra/stack';
import { freePort } from '@fleettrace/infra/stack';
import { stopPid } from '@fleettrace/infra/stack';
import { freshDatabaseUrl, freshRedisPrefix } from './database';
import { CheckedApiClient } from './openapi-check';

export interface Fleet {
  api: RunningApi;
  /** The API's admin bearer token, for clients other than `api.client` (the CLI's tests). */
  token: string;
  hosts: RunningDaemon[];
  /** Where the fleet's queues and results stream are, for other agents (an SSH gateway) to join it. */
  redisUrl: string;
  redisPrefix: string;
  logDir: string;
  /** Every log line of the API and daemons, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The API settings of every test fleet. Catalog programs hook every syscall or exec of the machine,
 * and a CI machine runs many test files at once: their BPF time passes the default 2 % of a CPU now
 * and then. Jobs that test the budget ask for theirs (test/e2e/run-limits.test.ts); the others must
 * not end budget_exceeded.
 */
export const TEST_FLEET_API_ENV: Readonly<Record<string, string>> = { FLEETTRACE_DEFAULT_OVERHEAD_BUDGET_PERCENT: '100' };

export interface FleetOptions {
  /** Environment of the i-th host's daemon over the test's own (a host without bpftrace: a PATH without it). */
  hostEnv?: (index: number) => Record<string, string> | undefined;
  /** The API's environment over TEST_FLEET_API_ENV (telemetry endpoints). */
  apiEnv?: Record<string, string>;
}

/**
 * A real fleet on this machine: the API process and one daemon process per host, each host scoped
 * to its own cgroup, on a fresh database and Redis prefix of the test services. Its client checks
 * every answer against the API's /openapi.json.
 */
export async function startFleet(label: string, hostCount: number, options: FleetOptions = {}): Promise<Fleet> {
  const logDir = mkdtempSync(join(tmpdir(), `fleettrace-${label}-`));
  const redisPrefix = freshRedisPrefix(label);
  const redisUrl = inject('redisUrl');
  const cgroupParent = `fleettrace-test/${redisPrefix}`;
  const token = `test-token-${redisPrefix}`;
  const hosts: RunningDaemon[] = [];
  let api: RunningApi | undefined;
  const stop = async (): Promise<void> => {
    for (const host of hosts) await stopPid(host.pid);
    if (api) await stopPid(api.pid);
    removeCgroup(join(cgroup2Root(), cgroupParent));
  };
  try {
    api = await startApi({
      databaseUrl: freshDatabaseUrl(inject('postgresUrl'), label),
      redisUrl,
      redisPrefix,
      token,
      port: await freePort(),
      logFile: join(logDir, 'api.log'),
      env: { ...TEST_FLEET_API_ENV, ...options.apiEnv },
    });
    api = { ...api, client: await CheckedApiClient.of(api.url, api.token) };
    for (let i = 0; i < hostCount; i++) {
      const hostId = `${label}-${String.fromCharCode(97 + i)}`;
      const env = options.hostEnv?.(i);
      hosts.push(
        startDaemon({
          hostId,
          labels: { tier: i === 0 ? 'web' : 'db' },
          cgroup: `${cgroupParent}/${hostId}`,
          redisUrl,
          redisPrefix,
          logFile: join(logDir, `${hostId}.log`),
          ...(env ? { env } : {}),
        }),
      );
    }
    await waitForHostsOnline(api.client, hosts.map((h) => h.hostId));
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${readLogs(logDir)}`);
  }
  return { api, token, hosts, redisUrl, redisPrefix, logDir, logs: () => readLogs(logDir), stop };
}

function readLogs(logDir: string): string {
  return readdirSync(logDir)
    .map((file) => `--- ${file}\n${readFileSync(join(logDir, file), 'utf8').slice(-4000)}`)
    .join('\n');
}
