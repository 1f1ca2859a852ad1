import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { hostRedisAclRules, hostRedisUser } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/**
 * Hosts' own Redis users (Redis 7 ACLs): made at enrolment, removed at revocation. The API's own
 * connection must be allowed the ACL and CLIENT commands (the default user of the dev stack is).
 */
@Injectable()
export class HostCredentialRepository implements OnModuleDestroy {
  private readonly logger = new Logger('HostCredentials');
  private readonly redis: Redis;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.redis.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
  }

  /** Creates (or replaces, with a new password) the host's user; returns its name. */
  async createUser(hostId: string, password: string): Promise<string> {
    const user = hostRedisUser(this.config.redisPrefix, hostId);
    await this.redis.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, ...hostRedisAclRules(this.config.redisPrefix, hostId));
    // A user replaced by a new enrolment: connections made with the old password end now.
    await this.redis.call('CLIENT', 'KILL', 'USER', user).catch(() => undefined);
    return user;
  }

  /**
   * Sets the rules of hostRedisAclRules on an existing host user (password and connections
   * untouched), so a user made by an older API gets today's (its own results stream). Whether the
   * user exists; a missing one (revoked) is not made again.
   */
  async applyRules(hostId: string): Promise<boolean> {
    const user = hostRedisUser(this.config.redisPrefix, hostId);
    if ((await this.redis.call('ACL', 'GETUSER', user)) === null) return false;
    await this.redis.call('ACL', 'SETUSER', user, ...hostRedisAclRules(this.config.redisPrefix, hostId));
    return true;
  }

  /**
   * Removes the host's user and ends every connection made with it: ACL DELUSER alone leaves
   * connections that authenticated before it working. Whether there was one to remove.
   */
  async removeUser(hostId: string): Promise<boolean> {
    const user = hostRedisUser(this.config.redisPrefix, hostId);
    const removed = Number(await this.redis.call('ACL', 'DELUSER', user));
    if (removed > 0) await this.redis.call('CLIENT', 'KILL', 'USER', user).catch(() => undefined);
    return removed > 0;
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
