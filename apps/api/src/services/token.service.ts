import { randomBytes, randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import {
  BOOTSTRAP_TOKEN_ID,
  TOKEN_SECRET_BYTES,
  TOKEN_SECRET_PREFIX,
  type CreateTokenRequest,
  type CreatedTokenView,
  type TokenView,
} from '@fleettrace/contracts';
import { DatabaseRepository } from '../repositories/database.repository';
import { ApiTokenRepository, type TokenRecord } from '../repositories/api-token.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { AuthService, type AuthContext } from './auth.service';

/** API tokens made, listed and revoked through the API (admin scope, checked by the routes). */
@Injectable()
export class TokenService {
  constructor(
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(ApiTokenRepository) private readonly tokens: ApiTokenRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {}

  /** The secret is in this answer only; the database keeps its HMAC. */
  async create(auth: AuthContext, request: CreateTokenRequest): Promise<CreatedTokenView> {
    // admin reaches token and audit routes, which a host selector cannot narrow: refused rather than half-applied.
    if (request.hostSelector !== undefined && request.scopes.includes('admin')) {
      throw new BadRequestException('hostSelector cannot limit a token with the admin scope');
    }
    const secret = `${TOKEN_SECRET_PREFIX}${randomBytes(TOKEN_SECRET_BYTES).toString('base64url')}`;
    const token = {
      id: randomUUID(),
      name: request.name,
      scopes: request.scopes,
      hostSelector: request.hostSelector ?? null,
      createdBy: auth.tokenId,
      createdAt: new Date(),
      expiresAt: request.expiresAt ? new Date(request.expiresAt) : null,
    };
    await this.database.transaction(async (tx) => {
      await this.tokens.insert(tx, token, this.auth.secretHmac(secret));
      await this.audit.insert(tx, {
        actor: auth.tokenId,
        action: 'token.create',
        subject: token.id,
        address: auth.address,
        detail: { name: token.name, scopes: token.scopes, hostSelector: token.hostSelector, expiresAt: token.expiresAt?.toISOString() ?? null },
      });
    });
    return { ...tokenView({ ...token, revokedAt: null, revokedBy: null, lastUsedAt: null }), secret };
  }

  async list(): Promise<TokenView[]> {
    return (await this.tokens.list()).map(tokenView);
  }

  /** Takes effect at the token's next request. Revoking twice is harmless; each request is audited (the second `alreadyRevoked`). */
  async revoke(auth: AuthContext, id: string): Promise<void> {
    if (id === BOOTSTRAP_TOKEN_ID) throw new BadRequestException('the bootstrap admin token is replaced by changing FLEETTRACE_ADMIN_TOKEN, not revoked');
    await this.database.transaction(async (tx) => {
      const token = await this.tokens.findById(id, tx);
      if (!token) throw new NotFoundException(`token ${id} not found`);
      const revoked = await this.tokens.revoke(tx, id, auth.tokenId, new Date());
      await this.audit.insert(tx, { actor: auth.tokenId, action: 'token.revoke', subject: id, address: auth.address, detail: { name: token.name, ...(revoked ? {} : { alreadyRevoked: true }) } });
    });
  }
}

function tokenView(token: TokenRecord): TokenView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: token.id,
    name: token.name,
    scopes: [...token.scopes],
    hostSelector: token.hostSelector,
    createdBy: token.createdBy,
    createdAt: token.createdAt.toISOString(),
    expiresAt: iso(token.expiresAt),
    revokedAt: iso(token.revokedAt),
    lastUsedAt: iso(token.lastUsedAt),
  };
}
