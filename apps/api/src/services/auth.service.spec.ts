import { UnauthorizedException } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { AuthService, hashToken } from './auth.service';
import type { ApiConfig } from '../config';
import type { ApiTokenRepository } from '../repositories/api-token.repository';

function setup() {
  const stored = new Map<string, string>();
  const tokens = {
    upsert: vi.fn(async (name: string, hash: string) => void stored.set(hash, name)),
    findNameByHash: async (hash: string) => stored.get(hash),
  } as unknown as ApiTokenRepository;
  const service = new AuthService({ adminToken: 's3cret' } as ApiConfig, tokens);
  return { service, tokens };
}

describe('AuthService', () => {
  it('stores the admin token as a sha256 hash only', async () => {
    const { service, tokens } = setup();
    await service.storeAdminToken();
    expect(tokens.upsert).toHaveBeenCalledWith('admin', hashToken('s3cret'));
    expect(hashToken('s3cret')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('knows the caller by their token', async () => {
    const { service } = setup();
    await service.storeAdminToken();
    await expect(service.authenticate('Bearer s3cret')).resolves.toEqual({ tokenName: 'admin' });
    await expect(service.authenticate('bearer s3cret')).resolves.toEqual({ tokenName: 'admin' });
  });

  it.each([
    [undefined, 'missing bearer token'],
    ['', 'missing bearer token'],
    ['Basic s3cret', 'missing bearer token'],
    ['Bearer', 'missing bearer token'],
    ['Bearer a b', 'missing bearer token'],
    ['Bearer s3cret2', 'invalid bearer token'],
  ])('rejects %j: %s', async (header, message) => {
    const { service } = setup();
    await service.storeAdminToken();
    await expect(service.authenticate(header)).rejects.toThrow(new UnauthorizedException(message));
  });
});
