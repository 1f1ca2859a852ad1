import { readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createCgroup } from '../src/cgroup';
import { ApiClient } from './api-client';
import { REPO_ROOT } from './repo-root';
import { defaultDispatchKeys, type DispatchKeyFiles } from './services/dispatch-keys';
import { startDetached, waitFor, type StartedProcess } from './services/process';
import { recordLateSecrets, recordLogFile, recordSecret, urlPassword, type RecordedSecret } from './services/secret-record';
import { auditedRequestLogFor, recordAuditedApi } from './services/audit-record';

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
  recordSecret(options.token, 'admin token');
  // Under the e2e suite: the audit record each request owes, checked after the test file.
  const requestLog = auditedRequestLogFor(options.logFile);
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
      ...(requestLog ? { FLEETTRACE_AUDITED_REQUEST_LOG: requestLog } : {}),
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${options.port}`;
  if (requestLog) {
    recordAuditedApi(options.databaseUrl, { pid, url, token: options.token, requestLog });
    recordLogFile(requestLog); // scanned for secrets like every log: it must hold none
  }
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
  /** The shared Redis credential (the dev path); left out for a host that enrols (`enrolment`), which is given its own. */
  redisUrl?: string;
  redisPrefix?: string;
  /**
   * Enrol at first start with this one-time token (createEnrolment) and run on the host's own Redis
   * user from then on. Given by environment, never on the command line (`ps` shows that).
   */
  enrolment?: { apiUrl: string; token: string };
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

/** The daemon as it ships: one plain-JS file that `npm run build` makes (apps/node-daemon/scripts/bundle-daemon.ts). */
export const DAEMON_ENTRY = join(REPO_ROOT, 'apps/node-daemon/dist/main.js');
/**
 * Node options the daemon ships with. A young generation of 2 MiB instead of V8's up-to-32: the
 * daemon's allocations are small and short-lived (heartbeats, run messages), and a young generation
 * grown during its start-up probe otherwise stays resident, ~25 MiB of its idle RSS.
 */
export const DAEMON_NODE_OPTIONS = ['--max-semi-space-size=1'];

/**
 * The built daemon, refused when it is missing or older than a source it was made from (listed
 * beside it): a stack must run the daemon that ships, and never an old build of it by mistake.
 */
export function builtDaemonEntry(bundle: string = DAEMON_ENTRY): string {
  const rebuild = 'run `npm run build` (or `npx nx run @fleettrace/node-daemon:build`)';
  let built: number;
  let inputs: string[];
  try {
    built = statSync(bundle).mtimeMs;
    inputs = JSON.parse(readFileSync(bundle.replace(/\.js$/, '.inputs.json'), 'utf8')) as string[];
  } catch {
    throw new Error(`the daemon is not built (no ${relative(REPO_ROOT, bundle)}): ${rebuild}`);
  }
  const newer = inputs.find((input) => {
    try {
      return statSync(input).mtimeMs > built;
    } catch {
      return true;
    }
  });
  if (newer !== undefined) throw new Error(`the daemon build is older than ${relative(REPO_ROOT, newer)}: ${rebuild}`);
  return bundle;
}

/** Starts one daemon acting as one host, scoped to its own cgroup so it sees only its own workload. */
export function startDaemon(options: DaemonOptions): RunningDaemon {
  const cgroupPath = createCgroup(options.cgroup);
  const labels = Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(',');
  const args = [
    ...DAEMON_NODE_OPTIONS,
    builtDaemonEntry(),
    '--id', options.hostId,
    '--cgroup', cgroupPath,
    ...(options.redisUrl ? ['--redis-url', options.redisUrl] : []),
    ...(options.redisPrefix ? ['--redis-prefix', options.redisPrefix] : []),
    '--dispatch-key', (options.dispatchKeys ?? defaultDispatchKeys()).publicKeyFile,
    ...(labels ? ['--labels', labels] : []),
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(options.enrolment ? { FLEETTRACE_API_URL: options.enrolment.apiUrl, FLEETTRACE_ENROL_TOKEN: options.enrolment.token } : {}),
    ...options.env,
  };
  if (options.enrolment) recordSecret(options.enrolment.token, `enrolment token of ${options.hostId}`);
  const { pid } = startDetached(process.execPath, args, options.logFile, { cwd: REPO_ROOT, env });
  recordLateSecrets(() => enrolledCredentials(env.FLEETTRACE_STATE_DIR || '/var/lib/fleettrace', options.hostId));
  return { pid, hostId: options.hostId, cgroupPath };
}

/** The Redis password an enrolled daemon keeps (apps/node-daemon enrolment.ts), once it has enrolled. */
function enrolledCredentials(stateDir: string, hostId: string): RecordedSecret[] {
  try {
    const kept = JSON.parse(readFileSync(join(stateDir, `daemon-${hostId}`, 'redis-credentials.json'), 'utf8')) as { redisUrl?: unknown };
    const password = typeof kept.redisUrl === 'string' ? urlPassword(kept.redisUrl) : undefined;
    return password ? [{ value: password, what: `Redis password of host ${hostId}` }] : [];
  } catch {
    return []; // not enrolled (the shared credential), or not yet
  }
}

/** A one-time enrolment token for the host (POST /v1/hosts/enrolments, as the admin), for startDaemon's `enrolment`. */
export async function createEnrolment(client: ApiClient, hostId: string): Promise<string> {
  const { status, body } = await client.request<{ token?: string; message?: string }>('POST', '/v1/hosts/enrolments', { hostId });
  if (status !== 201 || typeof body.token !== 'string') throw new Error(`POST /v1/hosts/enrolments for ${hostId} answered ${status}: ${body.message ?? ''}`);
  return body.token;
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
      // What POST /v1/hosts/ssh/:id/bootstrap installs (npm run build makes it).
      FLEETTRACE_DAEMON_BUNDLE_DIR: join(REPO_ROOT, 'apps/node-daemon/dist/remote'),
      ...options.env,
    },
  });
}
