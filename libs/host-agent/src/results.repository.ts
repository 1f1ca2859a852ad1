import { Redis } from 'ioredis';
import { resultsStreamKey, type ResultMessage } from '@fleettrace/contracts';

/**
 * One host's only way to report: its own Redis stream, which the API's ingest consumes in order.
 * The stream is the host's, not the message's: an enrolled host's Redis user may write no other,
 * and ingest checks every message against the host whose stream it came through.
 */
export class ResultsRepository {
  private readonly streamKey: string;

  constructor(private readonly redis: Redis, prefix: string, readonly hostId: string) {
    this.streamKey = resultsStreamKey(prefix, hostId);
  }

  async publish(message: ResultMessage): Promise<void> {
    await this.redis.xadd(this.streamKey, '*', 'm', JSON.stringify(message));
  }
}
