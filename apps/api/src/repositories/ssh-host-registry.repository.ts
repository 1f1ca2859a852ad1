import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { SshDaemonProgress, SshHostEntry, sshDaemonProgressKey, sshDaemonTokenKey, sshHostsKey } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/**
 * The SSH hosts as the gateways see them: one Redis hash, an entry per host the gateways should
 * reach (gateways have no database access). PostgreSQL stays the record; this is its projection.
 */
@Injectable()
export class SshHostRegistryRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('SshHostRegistry');
  private readonly redis: Redis;
  private readonly key: string;
  private readonly prefix: string;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.prefix = config.redisPrefix;
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.redis.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
    this.key = sshHostsKey(config.redisPrefix);
  }

  async put(entry: SshHostEntry): Promise<void> {
    await this.redis.hset(this.key, entry.id, JSON.stringify(entry));
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
    await this.redis.hdel(sshDaemonProgressKey(this.prefix), id);
  }

  async get(id: string): Promise<SshHostEntry | undefined> {
    const json = await this.redis.hget(this.key, id);
    return json === null ? undefined : SshHostEntry.parse(JSON.parse(json));
  }

  /** What a gateway reported of the host's latest daemon request, if one took it. */
  async daemonProgress(id: string): Promise<SshDaemonProgress | undefined> {
    const json = await this.redis.hget(sshDaemonProgressKey(this.prefix), id);
    return json === null ? undefined : SshDaemonProgress.parse(JSON.parse(json));
  }

  /**
   * Leaves a bootstrap's enrolment token for the one gateway that takes it, no longer than the token
   * itself lives; the host's entry (put after this) is what tells gateways to look for it.
   */
  async putDaemonToken(hostId: string, requestId: string, token: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(sshDaemonTokenKey(this.prefix, hostId, requestId), token, 'EX', ttlSeconds);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
