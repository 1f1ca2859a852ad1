import type { EventRecord, EventsSummary } from '@fleettrace/contracts';

/** How long a kept record may wait for its batch to fill: a quiet program's events still stream. */
export const EVENTS_MAX_DELAY_MS = 250;

/**
 * Keeps at most `cap` records of one events output, counting the rest as dropped, and hands kept
 * records on in batches so the daemon sends a few large messages rather than one per record: a
 * batch goes when it has `flushAt` records or its first record is `maxDelayMs` old.
 */
export class EventBuffer {
  private pending: EventRecord[] = [];
  private received = 0;
  private kept = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly cap: number,
    private readonly flushAt: number,
    private readonly onFlush: (records: EventRecord[]) => void,
    private readonly maxDelayMs = EVENTS_MAX_DELAY_MS,
  ) {}

  /** Whether another record would still be kept; lets the caller skip decoding dropped ones. */
  get full(): boolean {
    return this.kept >= this.cap;
  }

  countDropped(n: number): void {
    this.received += n;
  }

  add(record: EventRecord): void {
    this.received++;
    if (this.kept >= this.cap) return;
    this.kept++;
    this.pending.push(record);
    if (this.pending.length >= this.flushAt) this.flush();
    // Unref'd: a pending batch never keeps the runner alive; the run's end flushes it anyway.
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.onFlush(batch);
  }

  summary(): EventsSummary {
    return { kind: 'events', name: this.name, received: this.received, dropped: this.received - this.kept };
  }
}
