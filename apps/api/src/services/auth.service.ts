import { createHmac } from 'node:crypto';
import { ForbiddenException, HttpException, HttpStatus, Inject, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { BOOTSTRAP_TOKEN_ID, hasScope, parseSelector, type ApiScope, type ParsedSelector } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { ApiTokenRepository, type TokenRecord } from '../repositories/api-token.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { DatabaseRepository } from '../repositories/database.repository';
import { AuthThrottle } from '../utils/auth-throttle';

/** Who is calling, as authentication found them: audit rows record the token id as the actor. */
export interface AuthContext {
  tokenId: string;
  tokenName: string;
  scopes: readonly ApiScope[];
  /** The hosts the token is limited to; undefined: every host. */
  hostSelector?: { text: string; parsed: ParsedSelector };
  /** The client's address; null when no request is behind the action (a schedule's firing). */
  address: string | null;
}

/** What a request was, for the records of refusals. */
export interface RequestDescription {
  address: string;
  method: string;
  route: string;
}

export class TooManyAuthFailuresException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super({ statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message: `too many failed authentications from this address; retry in ${retryAfterSeconds} s` }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Authentication (who is this bearer token) and authorisation (may it do this). Secrets are
 * compared as HMACs under the server key: the database never holds anything a client can present.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  private readonly key: Buffer;
  private readonly throttle: AuthThrottle;
  /** When this process last noted each token's use: one UPDATE per token a minute, not one per request. */
  private readonly lastTouched = new Map<string, number>();

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(ApiTokenRepository) private readonly tokens: ApiTokenRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
  ) {
    this.key = config.tokenKey
      ? Buffer.from(config.tokenKey, 'utf8')
      : createHmac('sha256', config.adminToken).update('fleettrace api token key v1').digest();
    this.throttle = new AuthThrottle(config.authFailureLimit, config.authFailureWindowSeconds * 1000);
  }

  /** The stored form of a secret. */
  secretHmac(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('hex');
  }

  /** The bootstrap credential, written again at every start (a changed one replaces the old). */
  async storeAdminToken(): Promise<void> {
    if (!this.config.tokenKey) this.logger.warn('FLEETTRACE_TOKEN_KEY is not set: API token secrets are keyed by a key derived from the admin token');
    await this.tokens.upsertBootstrap(BOOTSTRAP_TOKEN_ID, this.secretHmac(this.config.adminToken));
  }

  /**
   * The caller of a request. Each refusal is audited (never with the presented secret) and counted
   * against the client's address; past the limit the address gets 429 whatever it presents.
   */
  async authenticate(authorization: string | undefined, request: RequestDescription): Promise<AuthContext> {
    this.refuseIfThrottled(request.address);
    const match = BEARER.exec(authorization ?? '');
    const token = match ? await this.tokens.findBySecretHmac(this.secretHmac(match[1])) : undefined;
    const now = new Date();
    const problem = !match
      ? 'missing bearer token'
      : !token
        ? 'invalid bearer token'
        : token.revokedAt
          ? 'bearer token revoked'
          : token.expiresAt && token.expiresAt <= now
            ? 'bearer token expired'
            : undefined;
    if (problem || !token) {
      const throttled = this.countFailure(request.address);
      await this.audit.record({
        actor: token?.id ?? null,
        action: 'auth.refused',
        subject: `${request.method} ${request.route}`,
        address: request.address,
        detail: { reason: problem, ...(throttled ? { throttled: true } : {}) },
      });
      throw new UnauthorizedException(problem);
    }
    if (now.getTime() - (this.lastTouched.get(token.id) ?? 0) >= TOUCH_INTERVAL_MS) {
      this.lastTouched.set(token.id, now.getTime());
      // Bookkeeping: a failure to note the last use must not refuse a valid caller.
      await this.tokens.touch(token.id, now).catch((error: unknown) => this.logger.warn(`could not record the last use of token ${token.id}: ${(error as Error).message}`));
    }
    return contextOf(token, request.address);
  }

  /**
   * 429 for an address past the limit of failed authentications, whatever credential it presents
   * now: an API token or an enrolment token (one throttle for both, so guessing either costs time).
   */
  refuseIfThrottled(address: string): void {
    const wait = this.throttle.retryAfterSeconds(address);
    if (wait > 0) throw new TooManyAuthFailuresException(wait);
  }

  /** Counts a failed authentication of the address; whether this one started its throttle. */
  countFailure(address: string): boolean {
    return this.throttle.fail(address);
  }

  /**
   * Refuses with 403 naming the scope the token lacks, and audits the refusal. `what` says what was
   * asked ("POST /v1/jobs", "schedule firing").
   */
  async require(auth: AuthContext, scope: ApiScope, what: string): Promise<void> {
    if (hasScope(auth.scopes, scope)) return;
    await this.audit.record({ actor: auth.tokenId, action: 'auth.forbidden', subject: what, address: auth.address, detail: { missingScope: scope } });
    throw new ForbiddenException(`this token lacks the ${scope} scope`);
  }

  /**
   * The context a schedule fires in: its owner token's, as it is now. A revoked or expired owner
   * stops its schedules' firings (the reason is the firing's).
   */
  async ownerContext(tokenId: string): Promise<AuthContext> {
    const token = await this.database.snapshot((tx) => this.tokens.findById(tokenId, tx));
    if (!token) throw new ForbiddenException(`owner token ${tokenId} no longer exists`);
    if (token.revokedAt) throw new ForbiddenException(`owner token ${tokenId} was revoked`);
    if (token.expiresAt && token.expiresAt <= new Date()) throw new ForbiddenException(`owner token ${tokenId} expired`);
    return contextOf(token, null);
  }
}

function contextOf(token: TokenRecord, address: string | null): AuthContext {
  return {
    tokenId: token.id,
    tokenName: token.name,
    scopes: token.scopes,
    ...(token.hostSelector ? { hostSelector: { text: token.hostSelector, parsed: parseSelector(token.hostSelector) } } : {}),
    address,
  };
}
