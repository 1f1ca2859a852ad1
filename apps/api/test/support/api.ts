import { inject } from 'vitest';
import { Redis } from 'ioredis';
import { ATTACH_KINDS, DEFAULT_SLOT_WAIT_SECONDS, resultsStreamKey, type CapabilityReport, type HostInfo, type ResultMessage } from '@fleettrace/contracts';
import { freshDatabaseUrl, freshRedisPrefix } from '@fleettrace/testing/database';
import { OpenApiChecker } from '@fleettrace/testing/openapi-check';
import { waitFor } from '@fleettrace/testing/wait';
import { bootstrap, type RunningApi } from '../../src/bootstrap';
import { DEFAULT_TIMINGS, type ApiConfig } from '../../src/config';
import { readDispatchSigningKey } from '../../src/utils/dispatch-signer';
import { RunRepository } from '../../src/repositories/run.repository';
import { DatabaseRepository } from '../../src/repositories/database.repository';
import { defaultDispatchKeys } from '@fleettrace/infra/stack';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApi {
  api: RunningApi;
  config: ApiConfig;
  url: string;
  redis: Redis;
  /**
   * The body parsed when it is JSON, else its text (folded stacks are text/plain). Every answer is
   * checked against the API's /openapi.json first: one it does not describe fails the test.
   */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<{ status: number; body: T; contentType: string; headers: Headers }>;
  /**
   * What a daemon does: one entry with field `m` on its host's results stream. The host is
   * `hostId`, else the one the message names (a heartbeat's, a run's host in the database), else
   * UNNAMED_TEST_HOST (a malformed entry).
   */
  report(message: ResultMessage | string, hostId?: string): Promise<string>;
  close(): Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is, for malformed-JSON cases. */
  rawBody?: string;
  /** Of a body; defaults to application/json. */
  contentType?: string;
  /** Authorization header; defaults to the admin token, null sends none. */
  authorization?: string | null;
  /** Other request headers (If-None-Match...). */
  headers?: Record<string, string>;
}

/** A real API on a fresh database and Redis prefix, listening on a free port. */
export async function startApi(label: string, overrides: Partial<ApiConfig> = {}): Promise<TestApi> {
  const config: ApiConfig = {
    databaseUrl: freshDatabaseUrl(inject('postgresUrl'), label),
    redisUrl: inject('redisUrl'),
    redisPrefix: freshRedisPrefix(label),
    adminToken: ADMIN_TOKEN,
    httpPort: 0,
    httpHost: '127.0.0.1',
    roles: new Set(['http', 'worker']),
    maxDurationSeconds: 3600,
    startDeadlineSeconds: 30,
    slotWaitSeconds: DEFAULT_SLOT_WAIT_SECONDS,
    ingestConsumer: `test-${label}`,
    ...DEFAULT_TIMINGS,
    // The key the SSH gateways and daemons a test starts (infra/stack) verify with.
    dispatchSigningKey: readDispatchSigningKey(defaultDispatchKeys().privateKeyFile),
    ...overrides,
  };
  const api = await bootstrap(config, { logLevels: process.env.FLEETTRACE_TEST_API_LOGS ? undefined : false });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const url = api.url ?? '';
  const document = await OpenApiChecker.of(url).catch(async (error: unknown) => {
    await api.close();
    await redis.quit();
    throw error;
  });
  return {
    api,
    config,
    url,
    redis,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const authorization = options.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : options.authorization;
      if (authorization !== null) headers.authorization = authorization;
      let body: string | undefined;
      if (options.rawBody !== undefined || options.body !== undefined) {
        headers['content-type'] = options.contentType ?? 'application/json';
        body = options.rawBody ?? JSON.stringify(options.body);
      }
      const response = await fetch(`${url}${path}`, { method, headers, body });
      const text = await response.text();
      const contentType = response.headers.get('content-type') ?? '';
      document.check({ method, path, status: response.status, contentType, text });
      const parsed = /^application\/json/.test(contentType) ? (text ? JSON.parse(text) : undefined) : text;
      return { status: response.status, body: parsed as never, contentType, headers: response.headers };
    },
    async report(message, hostId) {
      const m = typeof message === 'string' ? message : JSON.stringify(message);
      const sender = hostId ?? (typeof message === 'string' ? undefined : await senderOf(api, message)) ?? UNNAMED_TEST_HOST;
      return (await redis.xadd(resultsStreamKey(config.redisPrefix, sender), '*', 'm', m)) as string;
    },
    async close() {
      await api.close();
      await redis.quit();
    },
  };
}

/** The host whose stream carries a test's reports that name none. */
export const UNNAMED_TEST_HOST = 'test-unnamed-host';

async function senderOf(api: RunningApi, message: ResultMessage): Promise<string | undefined> {
  if (message.type === 'host') return message.host.id;
  if (message.type === 'ssh-probe' || message.type === 'dispatch-refused') return message.hostId;
  const run = await api.app.get(DatabaseRepository).snapshot((tx) => api.app.get(RunRepository).findById(message.runId, tx)).catch(() => undefined);
  return run?.hostId;
}

export function hostInfo(id: string, labels: Record<string, string> = {}): HostInfo {
  return {
    id,
    name: id,
    labels,
    kernelRelease: '6.1.0-test',
    arch: 'x86_64',
    btf: true,
    daemonVersion: '0.1.0',
    cgroup: null,
    tools: { clang: true, bpftrace: false },
  };
}

export { waitFor };

/** Registers hosts through the results stream, as their daemons would, and waits until the API lists them. */
export async function registerHosts(t: TestApi, hosts: HostInfo[], at = Date.now()): Promise<void> {
  for (const host of hosts) await t.report({ type: 'host', at, host });
  await waitFor('hosts to register', async () => {
    const { body } = await t.request<Array<{ id: string }>>('GET', '/v1/hosts');
    return hosts.every((h) => body.some((b) => b.id === h.id));
  });
}

/** A full capability report, as a daemon sends it, of a host with everything but what `overrides` take away. */
export function capabilityReport(overrides: Partial<CapabilityReport>): CapabilityReport {
  return {
    kernelRelease: '6.18.0',
    arch: 'x64',
    btf: true,
    programTypes: { tracepoint: true, tracing: null },
    mapTypes: { array: true, hash: true, percpu_array: true, ringbuf: true },
    attachTypes: Object.fromEntries(ATTACH_KINDS.map((kind) => [kind, { supported: true }])) as CapabilityReport['attachTypes'],
    helpers: {},
    eventTransport: 'ringbuf',
    ringBuffer: true,
    perfBuffer: true,
    bpfStats: { available: true, enabled: false },
    probedAt: new Date().toISOString(),
    probeDurationMs: 300,
    ...overrides,
  };
}

