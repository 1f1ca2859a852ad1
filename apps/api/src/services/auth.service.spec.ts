import { ForbiddenException, Logger, UnauthorizedException } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthService, TooManyAuthFailuresException } from './auth.service';
import type { ApiConfig } from '../config';
import type { ApiTokenRepository, TokenRecord } from '../repositories/api-token.repository';
import type { AuditEntry, AuditRepository } from '../repositories/audit.repository';
import type { DatabaseRepository } from '../repositories/database.repository';

beforeAll(() => Logger.overrideLogger(false));

const request = { address: '10.1.2.3', method: 'GET', route: '/v1/hosts' };

function setup(overrides: Partial<ApiConfig> = {}) {
  const byHmac = new Map<string, TokenRecord>();
  const audit: AuditEntry[] = [];
  const tokens = {
    upsertBootstrap: vi.fn(async (id: string, hmac: string) => void byHmac.set(hmac, token({ id, name: id, scopes: ['admin'] }))),
    findBySecretHmac: async (hmac: string) => byHmac.get(hmac),
    touch: vi.fn(async () => undefined),
  } as unknown as ApiTokenRepository;
  const auditRepository = { record: async (entry: AuditEntry) => void audit.push(entry) } as unknown as AuditRepository;
  const config = { adminToken: 's3cret', authFailureLimit: 3, authFailureWindowSeconds: 60, ...overrides } as ApiConfig;
  const database = { snapshot: (work: (tx: unknown) => Promise<unknown>) => work({}) } as unknown as DatabaseRepository;
  const service = new AuthService(config, tokens, auditRepository, database);
  const add = (secret: string, record: Partial<TokenRecord>) => byHmac.set(service.secretHmac(secret), token(record));
  return { service, tokens, audit, add };
}

function token(record: Partial<TokenRecord>): TokenRecord {
  return { id: 't1', name: 'ci', scopes: ['jobs:read'], hostSelector: null, createdBy: 'admin', createdAt: new Date(0), expiresAt: null, revokedAt: null, revokedBy: null, lastUsedAt: null, ...record };
}

describe('AuthService', () => {
  it('stores the admin token as an HMAC under the server key, never as itself or a plain hash', async () => {
    const { service, tokens } = setup({ tokenKey: 'k'.repeat(32) });
    await service.storeAdminToken();
    const stored = vi.mocked(tokens.upsertBootstrap).mock.calls[0]!;
    expect(stored[0]).toBe('admin');
    expect(stored[1]).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[1]).not.toContain('s3cret');
    // Another key, another HMAC: a copy of the table is useless without the key.
    expect(setup({ tokenKey: 'j'.repeat(32) }).service.secretHmac('s3cret')).not.toBe(stored[1]);
  });

  it('knows the caller by their token, with its scopes, host selector and address', async () => {
    const { service, add } = setup();
    await service.storeAdminToken();
    await expect(service.authenticate('Bearer s3cret', request)).resolves.toEqual({ tokenId: 'admin', tokenName: 'admin', scopes: ['admin'], address: '10.1.2.3' });
    await expect(service.authenticate('bearer s3cret', request)).resolves.toMatchObject({ tokenId: 'admin' });
    add('ft_team', { id: 't2', name: 'team', hostSelector: 'tier=web' });
    const team = await service.authenticate('Bearer ft_team', request);
    expect(team).toMatchObject({ tokenId: 't2', tokenName: 'team', hostSelector: { text: 'tier=web' } });
  });

  it.each([
    [undefined, 'missing bearer token', null],
    ['', 'missing bearer token', null],
    ['Basic s3cret', 'missing bearer token', null],
    ['Bearer', 'missing bearer token', null],
    ['Bearer a b', 'missing bearer token', null],
    ['Bearer s3cret2', 'invalid bearer token', null],
    ['Bearer ft_revoked', 'bearer token revoked', 'r1'],
    ['Bearer ft_expired', 'bearer token expired', 'e1'],
  ])('rejects %j: %s, and audits it without the secret', async (header, message, actor) => {
    const { service, audit, add } = setup();
    await service.storeAdminToken();
    add('ft_revoked', { id: 'r1', revokedAt: new Date(0) });
    add('ft_expired', { id: 'e1', expiresAt: new Date(Date.now() - 1000) });
    await expect(service.authenticate(header, request)).rejects.toThrow(new UnauthorizedException(message));
    expect(audit).toEqual([{ actor, action: 'auth.refused', subject: 'GET /v1/hosts', address: '10.1.2.3', detail: { reason: message } }]);
    expect(JSON.stringify(audit)).not.toMatch(/s3cret|ft_/);
  });

  it('throttles an address past its failures, even with a valid token; other addresses go on', async () => {
    const { service, audit } = setup();
    await service.storeAdminToken();
    for (let i = 0; i < 3; i++) await expect(service.authenticate('Bearer guess', request)).rejects.toBeInstanceOf(UnauthorizedException);
    expect(audit.at(-1)?.detail).toEqual({ reason: 'invalid bearer token', throttled: true });
    const refused = await service.authenticate('Bearer s3cret', request).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyAuthFailuresException);
    expect((refused as TooManyAuthFailuresException).retryAfterSeconds).toBeGreaterThan(0);
    expect((refused as TooManyAuthFailuresException).getStatus()).toBe(429);
    await expect(service.authenticate('Bearer s3cret', { ...request, address: '10.9.9.9' })).resolves.toMatchObject({ tokenId: 'admin' });
  });

  it('refuses a missing scope with 403 naming it, audits who, and lets admin do anything', async () => {
    const { service, audit } = setup();
    const ci = { tokenId: 't1', tokenName: 'ci', scopes: ['jobs:catalog'] as const, address: '10.1.2.3' };
    await expect(service.require(ci, 'jobs:bpftrace', 'POST /v1/jobs')).rejects.toThrow(new ForbiddenException('this token lacks the jobs:bpftrace scope'));
    expect(audit).toEqual([{ actor: 't1', action: 'auth.forbidden', subject: 'POST /v1/jobs', address: '10.1.2.3', detail: { missingScope: 'jobs:bpftrace' } }]);
    await expect(service.require(ci, 'jobs:catalog', 'POST /v1/jobs')).resolves.toBeUndefined();
    await expect(service.require({ ...ci, scopes: ['admin'] }, 'hosts:write', 'x')).resolves.toBeUndefined();
  });
});
