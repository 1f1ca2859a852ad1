import { HEARTBEAT_INTERVAL_MS, type HostInfo } from '@fleettrace/contracts';
import type { ResultsRepository } from './repositories/results.repository';

/** Registers the host and keeps it online in the API's eyes; a missed beat is logged, not fatal. */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly results: ResultsRepository, private readonly host: HostInfo, private readonly log: (line: string) => void) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((error) => this.log(`heartbeat failed: ${String(error)}`)), HEARTBEAT_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): Promise<void> {
    return this.results.publish({ type: 'host', at: Date.now(), host: this.host });
  }
}
