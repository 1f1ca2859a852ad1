import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, parseRoles } from './config';

const keyFile = join(mkdtempSync(join(tmpdir(), 'ft-config-')), 'dispatch.key');
writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

const base = {
  FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: keyFile,
  FLEETTRACE_DATABASE_URL: 'postgres://localhost/ft',
  FLEETTRACE_REDIS_URL: 'redis://localhost:6379',
  FLEETTRACE_ADMIN_TOKEN: 'token',
};

describe('configFromEnv', () => {
  it('applies the documented defaults', () => {
    const config = configFromEnv(base);
    expect(config).toMatchObject({
      redisPrefix: 'ft',
      httpPort: 8080,
      httpHost: '127.0.0.1',
      maxDurationSeconds: 3600,
      startDeadlineSeconds: 30,
      slotWaitSeconds: 600,
    });
    expect([...config.roles]).toEqual(['http', 'worker']);
  });

  it('reads every variable', () => {
    const config = configFromEnv({
      ...base,
      FLEETTRACE_REDIS_PREFIX: 'p1',
      FLEETTRACE_HTTP_PORT: '0',
      FLEETTRACE_HTTP_HOST: '0.0.0.0',
      FLEETTRACE_ROLES: 'worker',
      FLEETTRACE_MAX_DURATION_SECONDS: '600',
      FLEETTRACE_INGEST_CONSUMER: 'api-3',
      FLEETTRACE_SLOT_WAIT_SECONDS: '45',
    });
    expect(config).toMatchObject({ redisPrefix: 'p1', httpPort: 0, httpHost: '0.0.0.0', maxDurationSeconds: 600, ingestConsumer: 'api-3', slotWaitSeconds: 45 });
    expect([...config.roles]).toEqual(['worker']);
  });

  it('requires the admin token and refuses a policy above the wire ceiling', () => {
    expect(() => configFromEnv({ ...base, FLEETTRACE_ADMIN_TOKEN: undefined })).toThrow('FLEETTRACE_ADMIN_TOKEN: FLEETTRACE_ADMIN_TOKEN is required');
    expect(() => configFromEnv({ ...base, FLEETTRACE_MAX_DURATION_SECONDS: '3601' })).toThrow(
      'FLEETTRACE_MAX_DURATION_SECONDS must be at most 3600',
    );
  });

  it('reads the binary prefixes, unset meaning the contracts default, and names the variable when one is bad', () => {
    expect(configFromEnv(base).binaryPrefixes).toBeUndefined();
    expect(configFromEnv({ ...base, FLEETTRACE_BINARY_PREFIXES: '/usr:/srv/app' }).binaryPrefixes).toEqual(['/usr', '/srv/app']);
    expect(() => configFromEnv({ ...base, FLEETTRACE_BINARY_PREFIXES: 'usr' })).toThrow('FLEETTRACE_BINARY_PREFIXES: "usr" must be an absolute, normalized directory other than /');
  });

  it('refuses unknown roles', () => {
    expect(() => parseRoles('http,cron')).toThrow('FLEETTRACE_ROLES: unknown role "cron" (known: http, worker)');
    expect(() => parseRoles(' , ')).toThrow('FLEETTRACE_ROLES must name at least one role');
  });
});
