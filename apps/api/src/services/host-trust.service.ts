import { randomBytes, randomUUID } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, Logger, NotFoundException, UnauthorizedException } from '@nestjs/common';
import {
  ENROLMENT_TOKEN_PREFIX,
  type CreateEnrolmentRequest,
  type CreatedEnrolmentView,
  type EnrolHostRequest,
  type EnrolmentView,
  type HostCredentialsView,
} from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { DatabaseRepository } from '../repositories/database.repository';
import { HostEnrolmentRepository, type EnrolmentRecord } from '../repositories/host-enrolment.repository';
import { HostCredentialRepository } from '../repositories/host-credential.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { AuthService, type AuthContext } from './auth.service';

const DEFAULT_ENROLMENT_SECONDS = 24 * 3600;
const SECRET_BYTES = 32;

/**
 * Per-host trust: a one-time enrolment token per host (admin), spent by the host's daemon to get
 * its own Redis user (hostRedisAclRules: its queue, its own results stream, its control channel),
 * and revocation (also part of removing a host), which removes that user and cuts its connections
 * at once. Each step is audited.
 */
@Injectable()
export class HostTrustService {
  private readonly logger = new Logger('HostTrust');

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(HostEnrolmentRepository) private readonly enrolments: HostEnrolmentRepository,
    @Inject(HostCredentialRepository) private readonly credentials: HostCredentialRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {}

  /** The token is in this answer only; the database keeps its HMAC. */
  async createEnrolment(auth: AuthContext, request: CreateEnrolmentRequest): Promise<CreatedEnrolmentView> {
    const token = `${ENROLMENT_TOKEN_PREFIX}${randomBytes(SECRET_BYTES).toString('base64url')}`;
    const now = new Date();
    const enrolment = {
      id: randomUUID(),
      hostId: request.hostId,
      createdBy: auth.tokenId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + (request.expiresInSeconds ?? DEFAULT_ENROLMENT_SECONDS) * 1000),
    };
    await this.database.transaction(async (tx) => {
      await this.enrolments.insert(tx, enrolment, this.auth.secretHmac(token));
      await this.audit.insert(tx, {
        actor: auth.tokenId,
        action: 'host.enrolment_create',
        subject: request.hostId,
        address: auth.address,
        detail: { enrolmentId: enrolment.id, expiresAt: enrolment.expiresAt.toISOString() },
      });
    });
    return { ...enrolmentView({ ...enrolment, usedAt: null }), token };
  }

  async listEnrolments(): Promise<EnrolmentView[]> {
    return (await this.enrolments.list()).map(enrolmentView);
  }

  /**
   * Spends the token: creates the host's Redis user with a fresh password and returns the URL that
   * carries it. A token works once, before its expiry, for the host it names; every refusal is audited
   * and counted against the client's address (AuthService's throttle: 429 past the limit).
   */
  async enrol(request: EnrolHostRequest, address: string): Promise<HostCredentialsView> {
    // Failed enrolments count against the address like failed API tokens: guessing costs time.
    this.auth.refuseIfThrottled(address);
    const refuse = async (status: 401 | 403, reason: string): Promise<never> => {
      const throttled = this.auth.countFailure(address);
      await this.audit.record({ actor: null, action: 'host.enrol_refused', subject: request.hostId, address, detail: { reason, ...(throttled ? { throttled: true } : {}) } });
      throw status === 401 ? new UnauthorizedException(reason) : new ForbiddenException(reason);
    };
    const password = randomBytes(SECRET_BYTES).toString('hex');
    const outcome = await this.database.transaction(async (tx) => {
      const enrolment = await this.enrolments.lockBySecret(tx, this.auth.secretHmac(request.token));
      if (!enrolment) return { refused: [401, 'enrolment token not recognised'] as const };
      if (enrolment.usedAt) return { refused: [401, 'enrolment token already used'] as const };
      if (enrolment.expiresAt.getTime() <= Date.now()) return { refused: [401, 'enrolment token expired'] as const };
      if (enrolment.hostId !== request.hostId) return { refused: [403, `enrolment token is for host ${enrolment.hostId}, not ${request.hostId}`] as const };
      const user = await this.credentials.createUser(enrolment.hostId, password);
      await this.enrolments.markUsed(tx, enrolment.id, new Date());
      await this.enrolments.upsertCredentials(tx, enrolment.hostId, user, enrolment.id);
      await this.audit.insert(tx, { actor: `enrolment:${enrolment.id}`, action: 'host.enrol', subject: enrolment.hostId, address, detail: { redisUser: user } });
      return { user, refused: undefined };
    });
    if (outcome.refused) return refuse(outcome.refused[0], outcome.refused[1]);
    const url = new URL(this.config.hostRedisUrl ?? this.config.redisUrl);
    url.username = encodeURIComponent(outcome.user!);
    url.password = password;
    return { hostId: request.hostId, redisUrl: url.toString(), redisPrefix: this.config.redisPrefix };
  }

  /** Removes the host's Redis user and ends its connections: its daemon is refused from now on. */
  async revoke(auth: AuthContext, hostId: string): Promise<void> {
    if (!(await this.revokeCredentials(auth, hostId))) throw new NotFoundException(`host ${hostId} has no credentials to revoke`);
  }

  /**
   * What revoking is, for POST /v1/hosts/:id/revoke and for removing a host: ACL DELUSER and CLIENT
   * KILL USER, the record of its credentials deleted, audited (host.revoke). Whether there was
   * anything to revoke; a host on the shared credential has nothing.
   */
  async revokeCredentials(auth: AuthContext, hostId: string): Promise<boolean> {
    const hadUser = await this.credentials.removeUser(hostId);
    const hadRecord = await this.database.transaction(async (tx) => {
      const removed = await this.enrolments.deleteCredentials(tx, hostId);
      if (removed || hadUser) await this.audit.insert(tx, { actor: auth.tokenId, action: 'host.revoke', subject: hostId, address: auth.address, detail: { redisUserRemoved: hadUser } });
      return removed;
    });
    return hadUser || hadRecord;
  }

  /**
   * At start: every enrolled host's Redis user gets today's rules. Users made before per-host
   * results streams could write only the shared stream, which nothing reads any more; their daemons
   * report through their own from the moment they are upgraded. A failure is logged, not fatal.
   */
  async applyHostAclRules(): Promise<void> {
    try {
      const hosts = await this.enrolments.hostsWithCredentials();
      for (const hostId of hosts) await this.credentials.applyRules(hostId);
    } catch (error) {
      this.logger.warn(`could not apply the current Redis ACL rules to the enrolled hosts' users: ${(error as Error).message}`);
    }
  }
}

function enrolmentView(e: EnrolmentRecord): EnrolmentView {
  return { id: e.id, hostId: e.hostId, createdBy: e.createdBy, createdAt: e.createdAt.toISOString(), expiresAt: e.expiresAt.toISOString(), usedAt: e.usedAt?.toISOString() ?? null };
}
