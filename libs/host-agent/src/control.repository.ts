import { Redis } from 'ioredis';
import { HostControlMessage, cancelledRunKey, hostControlChannel } from '@fleettrace/contracts';

export type CancelHandler = (hostId: string, runId: string, reason: string) => void;

/**
 * What the API tells hosts to do now: their control channels (pub/sub), and the cancel marks it
 * leaves for runs a host may take later. A message published while the subscription is
 * reconnecting is missed; the marks are not, and the daemon reads them before starting any run.
 * A daemon listens for its own host; one subscription can serve many hosts (the benchmarks' fleet
 * simulator, the SSH gateway), as Redis delivers each channel's messages on whichever connection subscribed to it.
 */
export class ControlRepository {
  private readonly subscriber: Redis;

  constructor(
    redisUrl: string,
    private readonly reader: Redis,
    private readonly prefix: string,
    private readonly hostIds: readonly string[],
    private readonly log: (line: string) => void,
  ) {
    this.subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber.on('error', (error) => this.log(`control channel: ${error.message}`));
  }

  async start(onCancel: CancelHandler): Promise<void> {
    const hostOf = new Map(this.hostIds.map((hostId) => [hostControlChannel(this.prefix, hostId), hostId]));
    this.subscriber.on('message', (from: string, text: string) => {
      const hostId = hostOf.get(from);
      if (hostId === undefined) return;
      let message: HostControlMessage;
      try {
        message = HostControlMessage.parse(JSON.parse(text));
      } catch {
        this.log(`control channel: ignoring a malformed message`);
        return;
      }
      onCancel(hostId, message.runId, message.reason);
    });
    await this.subscriber.connect();
    await this.subscriber.subscribe(...hostOf.keys());
  }

  /** The runner's CancelledRuns (libs/runner), which this library does not depend on. */
  async reasonFor(runId: string): Promise<string | undefined> {
    return (await this.reader.get(cancelledRunKey(this.prefix, runId))) ?? undefined;
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}
