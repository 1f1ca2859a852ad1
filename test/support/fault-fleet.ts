import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cgroup2Root, removeCgroup } from '@fleettrace/infra';
import {
  createDatabase,
  freePort,
  startApi,
  startDaemon,
  startPostgres,
  startRedis,
  stopPid,
  stopPostgres,
  stopRedis,
  waitFor,
  isAlive,
  waitForHostsOnline,
  type RunningApi,
  type RunningDaemon,
} from '@fleettrace/infra/stack';
import { CheckedApiClient } from './openapi-check';

/**
 * A fleet whose every part the test may break and bring back: its own PostgreSQL and Redis (with
 * AOF, as the local stack and compose run it), the API and one daemon per host, each a process
 * stopped and started by PID. Restarts keep ports, data directories and host ids. Its client checks
 * every answer against the API's /openapi.json.
 */
export interface FaultFleet {
  api: RunningApi;
  hosts: RunningDaemon[];
  redisUrl: string;
  redisPrefix: string;
  restartRedis(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** SIGKILLs the API (no graceful shutdown), then, unless told not to, starts it again. */
  killApi(): Promise<void>;
  startApi(env?: Record<string, string>): Promise<void>;
  /** Starts the API with `env` (a failpoint) and waits until it has killed itself. */
  runApiUntilItDies(env: Record<string, string>): Promise<void>;
  /** SIGKILLs host i's daemon. */
  killDaemon(i: number): Promise<number>;
  startDaemon(i: number): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startFaultFleet(label: string, hostCount: number, apiEnv: Record<string, string> = {}): Promise<FaultFleet> {
  const dir = mkdtempSync(join(tmpdir(), `fleettrace-fault-${label}-`));
  // mkdtemp makes it 0700; the postgres user must reach its own directory inside.
  chmodSync(dir, 0o755);
  const logDir = join(dir, 'logs');
  const redisPrefix = `ftfault-${label}-${randomBytes(3).toString('hex')}`;
  const cgroupParent = `fleettrace-test/${redisPrefix}`;
  const token = `fault-token-${randomBytes(8).toString('hex')}`;
  const pgPort = await freePort();
  const redisPort = await freePort();
  const apiPort = await freePort();
  let postgres = await startPostgres({ baseDir: join(dir, 'pg'), port: pgPort, durable: false });
  let redis = await startRedis({ baseDir: join(dir, 'redis'), port: redisPort, durable: true });
  const databaseUrl = createDatabase(postgres.url, 'fleettrace');
  const hostIds = Array.from({ length: hostCount }, (_, i) => `${label}-${String.fromCharCode(97 + i)}`);
  const hosts: RunningDaemon[] = [];
  mkdirSync(logDir, { recursive: true });
  const apiOptions = (env: Record<string, string>) => ({ databaseUrl, redisUrl: redis.url, redisPrefix, token, port: apiPort, logFile: join(logDir, 'api.log'), env: { ...apiEnv, ...env } });
  const daemonOptions = (i: number) => ({
    hostId: hostIds[i]!,
    labels: { tier: i === 0 ? 'web' : 'db' },
    cgroup: `${cgroupParent}/${hostIds[i]}`,
    redisUrl: redis.url,
    redisPrefix,
    logFile: join(logDir, `${hostIds[i]}.log`),
    // Each fault fleet keeps its hosts' journals of runs in progress apart from every other's.
    env: { FLEETTRACE_STATE_DIR: join(dir, 'state') },
  });
  let api: RunningApi | undefined;
  const fleet: FaultFleet = {
    get api() {
      return api!;
    },
    hosts,
    redisUrl: redis.url,
    redisPrefix,
    async restartRedis() {
      await stopRedis(redis.pid);
      redis = await startRedis({ baseDir: join(dir, 'redis'), port: redisPort, durable: true });
    },
    async stopPostgres() {
      await stopPostgres(postgres.pid);
    },
    async startPostgres() {
      postgres = await startPostgres({ baseDir: join(dir, 'pg'), port: pgPort, durable: false });
    },
    async killApi() {
      await stopPid(api!.pid, 'SIGKILL');
    },
    async startApi(env = {}) {
      const started = await startApi(apiOptions(env));
      api = { ...started, client: await CheckedApiClient.of(started.url, started.token) };
    },
    async runApiUntilItDies(env) {
      const dying = await startApi({ ...apiOptions(env), waitUntilReady: false });
      await waitFor('the API to kill itself at its failpoint', async () => !isAlive(dying.pid), 60_000);
    },
    async killDaemon(i) {
      const pid = hosts[i]!.pid;
      await stopPid(pid, 'SIGKILL');
      return pid;
    },
    async startDaemon(i) {
      hosts[i] = startDaemon(daemonOptions(i));
      await waitForHostsOnline(api!.client, [hostIds[i]!]);
    },
    logs: () => readdirSync(logDir).map((file) => `--- ${file}\n${readFileSync(join(logDir, file), 'utf8').slice(-4000)}`).join('\n'),
    async stop() {
      for (const host of hosts) await stopPid(host.pid);
      if (api) await stopPid(api.pid);
      await stopRedis(redis.pid);
      await stopPostgres(postgres.pid);
      removeCgroup(join(cgroup2Root(), cgroupParent));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await fleet.startApi();
    for (let i = 0; i < hostCount; i++) hosts.push(startDaemon(daemonOptions(i)));
    await waitForHostsOnline(api!.client, hostIds);
  } catch (error) {
    const logs = fleet.logs();
    await fleet.stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return fleet;
}
