import { join } from 'node:path';
import { createCgroup } from '../src/cgroup';
import { ApiClient } from './api-client';
import { REPO_ROOT } from './repo-root';
import { defaultDispatchKeys, type DispatchKeyFiles } from './services/dispatch-keys';
import { startDetached, waitFor, type StartedProcess } from './services/process';

export interface ApiOptions {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  token: string;
  port: number;
  logFile: string;
  /** More environment for the API process (FLEETTRACE_* knobs, fault-test failpoints). */
  env?: Record<string, string>;
  /** Wait until it answers (default); false returns once it is started, for a process meant to die. */
  waitUntilReady?: boolean;
  /** The key pair dispatches are signed with; default: this process's (defaultDispatchKeys). */
  dispatchKeys?: DispatchKeyFiles;
}

export interface RunningApi {
  pid: number;
  url: string;
  /** The admin token it was started with, for clients other than `client` (an SSE client, the CLI). */
  token: string;
  client: ApiClient;
}

function tsEntry(path: string): string[] {
  return ['--import', 'tsx', join(REPO_ROOT, path)];
}

/** Starts the API (http + worker roles) as its own process and waits until it answers. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { pid } = startDetached(process.execPath, tsEntry('apps/api/src/main.ts'), options.logFile, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      FLEETTRACE_DATABASE_URL: options.databaseUrl,
      FLEETTRACE_REDIS_URL: options.redisUrl,
      FLEETTRACE_REDIS_PREFIX: options.redisPrefix,
      FLEETTRACE_ADMIN_TOKEN: options.token,
      FLEETTRACE_HTTP_PORT: String(options.port),
      FLEETTRACE_HTTP_HOST: '127.0.0.1',
      FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: (options.dispatchKeys ?? defaultDispatchKeys()).privateKeyFile,
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${options.port}`;
  const client = new ApiClient(url, options.token);
  if (options.waitUntilReady === false) return { pid, url, token: options.token, client };
  await waitFor(`the API at ${url} (log: ${options.logFile})`, async () => (await client.request('GET', '/v1/hosts')).status === 200, 60_000, 200);
  return { pid, url, token: options.token, client };
}

export interface DaemonOptions {
  hostId: string;
  labels: Record<string, string>;
  /** cgroup-v2 path relative to the cgroup2 root; created if missing. */
  cgroup: string;
  redisUrl: string;
  redisPrefix: string;
  logFile: string;
  /** More environment for the daemon process (FLEETTRACE_STATE_DIR of a fault test, say). */
  env?: Record<string, string>;
  /** The API's dispatch key pair (its public half is used); default: this process's. */
  dispatchKeys?: DispatchKeyFiles;
}

export interface RunningDaemon {
  pid: number;
  hostId: string;
  cgroupPath: string;
}

/** Starts one daemon acting as one host, scoped to its own cgroup so it sees only its own workload. */
export function startDaemon(options: DaemonOptions): RunningDaemon {
  const cgroupPath = createCgroup(options.cgroup);
  const labels = Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(',');
  const args = [
    ...tsEntry('apps/node-daemon/src/main.ts'),
    '--id', options.hostId,
    '--cgroup', cgroupPath,
    '--redis-url', options.redisUrl,
    '--redis-prefix', options.redisPrefix,
    '--dispatch-key', (options.dispatchKeys ?? defaultDispatchKeys()).publicKeyFile,
    ...(labels ? ['--labels', labels] : []),
  ];
  const { pid } = startDetached(process.execPath, args, options.logFile, { cwd: REPO_ROOT, env: { ...process.env, ...options.env } });
  return { pid, hostId: options.hostId, cgroupPath };
}

/** Waits until the API lists every one of these hosts as online. */
export async function waitForHostsOnline(client: ApiClient, hostIds: string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(`hosts ${hostIds.join(', ')} online`, async () => {
    const online = new Set((await client.hosts()).filter((h) => h.online).map((h) => h.id));
    return hostIds.every((id) => online.has(id));
  }, timeoutMs, 200);
}

export interface SshGatewayOptions {
  redisUrl: string;
  redisPrefix: string;
  /** FLEETTRACE_SSH_KEY_DIR: a private key per host name, or `default`. */
  keyDir: string;
  logFile: string;
  env?: Record<string, string>;
  dispatchKeys?: DispatchKeyFiles;
}

/** Starts an SSH gateway (apps/ssh-gateway): it serves every SSH host the API enrols on this Redis prefix. */
export function startSshGateway(options: SshGatewayOptions): StartedProcess {
  return startDetached(process.execPath, tsEntry('apps/ssh-gateway/src/main.ts'), options.logFile, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      FLEETTRACE_REDIS_URL: options.redisUrl,
      FLEETTRACE_REDIS_PREFIX: options.redisPrefix,
      FLEETTRACE_SSH_KEY_DIR: options.keyDir,
      // Tests enrol and remove hosts and wait for the gateway to notice.
      FLEETTRACE_SSH_REFRESH_MS: '300',
      FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE: (options.dispatchKeys ?? defaultDispatchKeys()).publicKeyFile,
      ...options.env,
    },
  });
}
