// A fleet of local hosts for the CLI bench, as test/support/fleet.ts makes one for the tests:
// PostgreSQL and Redis of its own (throwaway), the API process, and one daemon per host, each
// scoped to a cgroup of its own. `stop()` ends every process it started, by PID.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  waitForHostsOnline,
  type RunningDaemon,
} from '@fleettrace/infra/stack';

export interface BenchFleet {
  url: string;
  token: string;
  hosts: RunningDaemon[];
  stop(): Promise<void>;
}

export async function startBenchFleet(hostCount: number): Promise<BenchFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'ft-bench-cli-'));
  // mkdtemp makes it 0700; the postgres user must be able to reach its own directory inside.
  chmodSync(dir, 0o755);
  const prefix = `ftbenchcli${randomBytes(3).toString('hex')}`;
  const cgroupParent = `fleettrace-bench/${prefix}`;
  const stops: Array<() => Promise<void>> = [];
  const hosts: RunningDaemon[] = [];
  const stop = async () => {
    for (const host of hosts) await stopPid(host.pid);
    for (const s of stops.reverse()) await s();
    removeCgroup(join(cgroup2Root(), cgroupParent));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const postgres = await startPostgres({ baseDir: join(dir, 'pg'), port: await freePort(), durable: false });
    stops.push(() => stopPostgres(postgres.pid));
    const redis = await startRedis({ baseDir: join(dir, 'redis'), port: await freePort() });
    stops.push(() => stopRedis(redis.pid));
    const token = `ft_${randomBytes(16).toString('hex')}`;
    const api = await startApi({
      databaseUrl: createDatabase(postgres.url, 'fleettrace'),
      redisUrl: redis.url,
      redisPrefix: prefix,
      token,
      port: await freePort(),
      logFile: join(dir, 'api.log'),
    });
    stops.push(() => stopPid(api.pid));
    for (let i = 0; i < hostCount; i++) {
      const hostId = `bench-${String.fromCharCode(97 + i)}`;
      hosts.push(startDaemon({ hostId, labels: {}, cgroup: `${cgroupParent}/${hostId}`, redisUrl: redis.url, redisPrefix: prefix, logFile: join(dir, `${hostId}.log`) }));
    }
    await waitForHostsOnline(api.client, hosts.map((h) => h.hostId));
    return { url: api.url, token, hosts, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
