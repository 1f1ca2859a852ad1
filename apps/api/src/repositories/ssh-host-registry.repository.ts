import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { sshHostsKey, type SshHostEntry } from '@fleettrace/contracts';
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

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.redis.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
    this.key = sshHostsKey(config.redisPrefix);
  }

  async put(entry: SshHostEntry): Promise<void> {
    await this.redis.hset(this.key, entry.id, JSON.stringify(entry));
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
