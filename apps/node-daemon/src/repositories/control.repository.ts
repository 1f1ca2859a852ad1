import { Redis } from 'ioredis';
import { HostControlMessage, cancelledRunKey, hostControlChannel } from '@fleettrace/contracts';
import type { CancelledRuns } from '@fleettrace/runner';

/**
 * What the API tells this host to do now: its control channel (pub/sub), and the cancel marks it
 * leaves for runs this host may take later. A message published while the subscription is
 * reconnecting is missed; the marks are not, and the daemon reads them before starting any run.
 */
export class ControlRepository implements CancelledRuns {
  private readonly subscriber: Redis;

  constructor(
    redisUrl: string,
    private readonly reader: Redis,
    private readonly prefix: string,
    private readonly hostId: string,
    private readonly log: (line: string) => void,
  ) {
    this.subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber.on('error', (error) => this.log(`control channel: ${error.message}`));
  }

  async start(onCancel: (runId: string, reason: string) => void): Promise<void> {
    const channel = hostControlChannel(this.prefix, this.hostId);
    this.subscriber.on('message', (from, text) => {
      if (from !== channel) return;
      let message: HostControlMessage;
      try {
        message = HostControlMessage.parse(JSON.parse(text));
      } catch {
        this.log(`control channel: ignoring a malformed message`);
        return;
      }
      onCancel(message.runId, message.reason);
    });
    await this.subscriber.connect();
    await this.subscriber.subscribe(channel);
  }

  async reasonFor(runId: string): Promise<string | undefined> {
    return (await this.reader.get(cancelledRunKey(this.prefix, runId))) ?? undefined;
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
