import type { EventRecord, EventsSummary } from '@fleettrace/contracts';

/**
 * Keeps at most `cap` records of one events output, counting the rest as dropped, and hands kept
 * records on in batches so the daemon sends a few large messages rather than one per record.
 */
export class EventBuffer {
  private pending: EventRecord[] = [];
  private received = 0;
  private kept = 0;

  constructor(
    readonly name: string,
    private readonly cap: number,
    private readonly flushAt: number,
    private readonly onFlush: (records: EventRecord[]) => void,
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
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.onFlush(batch);
  }

  summary(): EventsSummary {
    return { kind: 'events', name: this.name, received: this.received, dropped: this.received - this.kept };
  }
}
