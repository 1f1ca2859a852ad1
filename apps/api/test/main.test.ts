import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, inject, it } from 'vitest';
import { freshDatabaseUrl, freshRedisPrefix } from '@fleettrace/testing/database';
import { ADMIN_TOKEN } from './support/api';
import { defaultDispatchKeys, freePort, startRedis, stopPid, type RunningRedis } from '@fleettrace/infra/stack';

const repoRoot = resolve(import.meta.dirname, '../../..');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

/** A complete API environment on the shared PostgreSQL (a fresh database) and the given Redis (a fresh prefix). */
function apiEnv(redisUrl: string): Record<string, string> {
  return {
    FLEETTRACE_DATABASE_URL: freshDatabaseUrl(inject('postgresUrl'), 'main'),
    FLEETTRACE_REDIS_URL: redisUrl,
    FLEETTRACE_REDIS_PREFIX: freshRedisPrefix('main'),
    FLEETTRACE_ADMIN_TOKEN: ADMIN_TOKEN,
    FLEETTRACE_HTTP_PORT: '0',
    FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: defaultDispatchKeys().privateKeyFile,
  };
}

/** The URL of the API's listening line, once it printed it. */
async function listening(api: ReturnType<typeof start>): Promise<string> {
  const deadline = Date.now() + 30_000;
  let match: RegExpMatchArray | null = null;
  while (!(match = api.stdout().match(/^fleettrace-api listening on (http:\/\/127\.0\.0\.1:\d+)\n/m))) {
    if (Date.now() > deadline || api.child.exitCode !== null) throw new Error(`no listening line; stderr: ${api.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return match[1]!;
}

function start(env: Record<string, string | undefined>): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout?.on('data', (chunk) => (out += chunk));
  proc.stderr?.on('data', (chunk) => (err += chunk));
  return { child: proc, stdout: () => out, stderr: () => err };
}

it('prints where it listens, serves, and exits 0 on SIGTERM', async () => {
  const api = start(apiEnv(inject('redisUrl')));
  const url = await listening(api);
  const response = await fetch(`${url}/v1/hosts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(api.stdout().trim().split('\n')).toEqual([`fleettrace-api listening on ${url}`]);

  api.child.kill('SIGTERM');
  const [code] = await once(api.child, 'exit');
  expect(code).toBe(0);
});

it('refuses to start without an admin token, saying so', async () => {
  const api = start({ FLEETTRACE_DATABASE_URL: 'postgres://x', FLEETTRACE_REDIS_URL: 'redis://x' });
  const [code] = await once(api.child, 'exit');
  expect(code).toBe(1);
  expect(api.stderr()).toContain('FLEETTRACE_ADMIN_TOKEN is required');
});

it('exits 1 within its shutdown timeout, saying why, when Redis is gone for good at SIGTERM', async () => {
  // A Redis of this test's own, killed under the API (the shared one serves the other tests).
  const dir = mkdtempSync(join(tmpdir(), 'ft-api-shutdown-'));
  let redis: RunningRedis | undefined = await startRedis({ baseDir: dir, port: await freePort() });
  try {
    const api = start({ ...apiEnv(redis.url), FLEETTRACE_SHUTDOWN_TIMEOUT_SECONDS: '3' });
    await listening(api);
    await stopPid(redis.pid, 'SIGKILL');
    redis = undefined;
    const exited = once(api.child, 'exit');
    api.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(1);
    expect(api.stderr()).toContain('fleettrace-api: SIGTERM, shutting down');
    expect(api.stderr()).toContain('fleettrace-api: shutdown did not finish within 3 s (is Redis or PostgreSQL unreachable?); exiting');
  } finally {
    if (redis) await stopPid(redis.pid);
    rmSync(dir, { recursive: true, force: true });
  }
});
