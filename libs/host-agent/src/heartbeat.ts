import { CAPABILITIES_RESEND_MS, HEARTBEAT_INTERVAL_MS, type HostInfo } from '@fleettrace/contracts';
import type { ResultsRepository } from './results.repository';

/**
 * Registers the host and keeps it online in the API's eyes; a missed beat is logged, not fatal.
 * The capability report rides along only now and then: it is large and rarely changes.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private capabilitiesSentAt = -Infinity;

  constructor(
    private readonly results: Pick<ResultsRepository, 'publish'>,
    private host: HostInfo,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((error) => this.log(`heartbeat failed: ${String(error)}`)), HEARTBEAT_INTERVAL_MS);
  }

  /** What the next beats report (a new probe of the host); a changed capability report goes out at the next beat. */
  update(host: HostInfo): void {
    if (JSON.stringify(host.capabilities) !== JSON.stringify(this.host.capabilities)) this.capabilitiesSentAt = -Infinity;
    this.host = host;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async beat(): Promise<void> {
    const at = this.now();
    const withCapabilities = at - this.capabilitiesSentAt >= CAPABILITIES_RESEND_MS;
    const { capabilities, ...host } = this.host;
    await this.results.publish({ type: 'host', at, host: withCapabilities && capabilities ? { ...host, capabilities } : host });
    if (withCapabilities) this.capabilitiesSentAt = at;
  }
}
