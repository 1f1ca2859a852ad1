import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeCgroup, cgroup2Root } from '../src/cgroup';
import { createEnrolment, startApi, startDaemon, startSshGateway, waitForHostsOnline, type RunningDaemon } from './components';
import { REPO_ROOT } from './repo-root';
import { freePort } from './services/ports';
import { createDatabase, startPostgres, stopPostgres } from './services/postgres';
import { dispatchKeyFiles } from './services/dispatch-keys';
import { isAlive, stopPid } from './services/process';
import { startRedis, stopRedis } from './services/redis';

export const STATE_DIR = join(REPO_ROOT, '.fleettrace');
const STATE_FILE = join(STATE_DIR, 'stack.json');
export const LOCAL_ENV_FILE = join(STATE_DIR, 'local.env');
/** All local hosts' cgroups live under this one, so `down` can remove whatever is left. */
const CGROUP_PARENT = 'fleettrace-local';
/** The daemons' state (FLEETTRACE_STATE_DIR): each keeps the Redis credentials its enrolment gave it here. */
const HOSTS_STATE_DIR = join(STATE_DIR, 'hosts');

export interface StackState {
  url: string;
  token: string;
  postgres: { pid: number; url: string };
  redis: { pid: number; url: string };
  api: { pid: number };
  daemons: RunningDaemon[];
  /** Serves the hosts enrolled with POST /v1/hosts/ssh, with the keys in sshKeyDir (or SSH_AUTH_SOCK's agent). */
  sshGateway?: { pid: number; keyDir: string };
  logDir: string;
}

export function readStackState(): StackState | undefined {
  return existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState) : undefined;
}

/**
 * Both state files hold the admin token: readable by their owner only. The mode given at creation
 * does not change an existing file, hence the chmod.
 */
export function writeSecretFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Labels alternate web/db so label selectors have something to select on a small local fleet. */
function hostLabels(index: number): Record<string, string> {
  return { tier: index % 2 === 1 ? 'web' : 'db', stack: 'local' };
}

export async function stackUp(hosts: number, log: (line: string) => void): Promise<StackState> {
  const existing = readStackState();
  if (existing && isAlive(existing.api.pid)) throw new Error(`a local stack is already up at ${existing.url} (npm run stack -- down first)`);
  const logDir = join(STATE_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const token = existing?.token ?? `ft_${randomBytes(24).toString('hex')}`;
  const state: Partial<StackState> & { daemons: RunningDaemon[] } = { token, daemons: [], logDir };
  // Kept in the state directory: a run queued before `down` still verifies after the next `up`.
  const dispatchKeys = dispatchKeyFiles(join(STATE_DIR, 'dispatch-keys'));
  const save = (): void => writeSecretFile(STATE_FILE, JSON.stringify(state, null, 2));
  try {
    log('starting PostgreSQL');
    const pg = await startPostgres({ baseDir: join(STATE_DIR, 'postgres'), port: await freePort(), durable: true });
    state.postgres = { pid: pg.pid, url: pg.url };
    save();
    log('starting Redis');
    const redis = await startRedis({ baseDir: join(STATE_DIR, 'redis'), port: await freePort(), durable: true });
    state.redis = { pid: redis.pid, url: redis.url };
    save();
    log('starting the API');
    const api = await startApi({
      databaseUrl: createDatabase(pg.url, 'fleettrace'),
      redisUrl: redis.url,
      redisPrefix: 'ft',
      token,
      port: await freePort(),
      logFile: join(logDir, 'api.log'),
      dispatchKeys,
    });
    state.api = { pid: api.pid };
    state.url = api.url;
    save();
    mkdirSync(HOSTS_STATE_DIR, { recursive: true, mode: 0o700 });
    for (let i = 1; i <= hosts; i++) {
      const hostId = `host-${i}`;
      // Each daemon enrols as production hosts do: a one-time token from the API (as the admin),
      // spent at its first start for its own Redis user, limited to its own queue and results
      // stream. Redis does not keep ACL users across restarts: a new `up` enrols afresh.
      rmSync(join(HOSTS_STATE_DIR, `daemon-${hostId}`, 'redis-credentials.json'), { force: true });
      log(`enrolling ${hostId} (one-time token) and starting its daemon`);
      const enrolToken = await createEnrolment(api.client, hostId);
      state.daemons.push(
        startDaemon({
          hostId,
          labels: hostLabels(i),
          cgroup: `${CGROUP_PARENT}/${hostId}`,
          enrolment: { apiUrl: api.url, token: enrolToken },
          logFile: join(logDir, `${hostId}.log`),
          env: { FLEETTRACE_STATE_DIR: HOSTS_STATE_DIR },
          dispatchKeys,
        }),
      );
      save();
    }
    const keyDir = join(STATE_DIR, 'ssh-keys');
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    log(`starting the SSH gateway (keys: ${keyDir}/<host name> or default, else SSH_AUTH_SOCK)`);
    state.sshGateway = { pid: startSshGateway({ redisUrl: redis.url, redisPrefix: 'ft', keyDir, logFile: join(logDir, 'ssh-gateway.log'), env: { FLEETTRACE_SSH_REFRESH_MS: '2000' }, dispatchKeys }).pid, keyDir };
    save();
    await waitForHostsOnline(api.client, state.daemons.map((d) => d.hostId));
    writeSecretFile(LOCAL_ENV_FILE, `FLEETTRACE_URL=${api.url}\nFLEETTRACE_TOKEN=${token}\n`);
    return state as StackState;
  } catch (error) {
    log(`start-up failed, stopping what was started: ${error instanceof Error ? error.message : String(error)}`);
    await stackDown(log);
    throw error;
  }
}

/** Stops everything `up` started, by PID, daemons first so their runs report before the API goes. */
export async function stackDown(log: (line: string) => void): Promise<void> {
  const state = readStackState() as Partial<StackState> | undefined;
  if (state) {
    for (const daemon of state.daemons ?? []) {
      log(`stopping daemon ${daemon.hostId} (pid ${daemon.pid})`);
      await stopPid(daemon.pid);
    }
    if (state.sshGateway) {
      log(`stopping the SSH gateway (pid ${state.sshGateway.pid})`);
      await stopPid(state.sshGateway.pid);
    }
    if (state.api) {
      log(`stopping the API (pid ${state.api.pid})`);
      await stopPid(state.api.pid);
    }
    if (state.redis) {
      log(`stopping Redis (pid ${state.redis.pid})`);
      await stopRedis(state.redis.pid);
    }
    if (state.postgres) {
      log(`stopping PostgreSQL (pid ${state.postgres.pid})`);
      await stopPostgres(state.postgres.pid);
    }
  }
  removeCgroup(join(cgroup2Root(), CGROUP_PARENT));
  rmSync(STATE_FILE, { force: true });
  rmSync(LOCAL_ENV_FILE, { force: true });
}
