import { Redis } from 'ioredis';
import { resultsStreamKey, type ResultMessage } from '@fleettrace/contracts';

/** The daemon's only way to report: one Redis stream the API's ingest consumes in order. */
export class ResultsRepository {
  private readonly streamKey: string;

  constructor(private readonly redis: Redis, prefix: string) {
    this.streamKey = resultsStreamKey(prefix);
  }

  async publish(message: ResultMessage): Promise<void> {
    await this.redis.xadd(this.streamKey, '*', 'm', JSON.stringify(message));
  }
}
