import { createHash } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { ApiTokenRepository } from '../repositories/api-token.repository';

/** Who is calling: the name of the token they presented (audit rows record it as the actor). */
export interface AuthContext {
  tokenName: string;
}

export const ADMIN_TOKEN_NAME = 'admin';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

@Injectable()
export class AuthService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(ApiTokenRepository) private readonly tokens: ApiTokenRepository,
  ) {}

  /** Only the hash is stored: a database dump does not give away the token. */
  async storeAdminToken(): Promise<void> {
    await this.tokens.upsert(ADMIN_TOKEN_NAME, hashToken(this.config.adminToken));
  }

  async authenticate(authorization: string | undefined): Promise<AuthContext> {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw new UnauthorizedException('missing bearer token');
    const tokenName = await this.tokens.findNameByHash(hashToken(match[1]));
    if (!tokenName) throw new UnauthorizedException('invalid bearer token');
    return { tokenName };
  }
}
