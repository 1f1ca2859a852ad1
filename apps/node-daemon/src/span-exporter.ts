import type { RunSpan } from './run-spans';
import type { OtlpSpanExport, SpanHost } from './otlp-span-export';

/** Spans waiting past this are dropped (and logged): a collector that is away must not grow the daemon. */
const MAX_WAITING = 1_000;

/**
 * Ended run spans on their way out, one request at a time. The OTLP exporter is imported with the
 * first span, so a daemon with a traces endpoint set but no run yet, or none set at all, loads nothing.
 */
export class SpanExporter {
  private exporter: Promise<OtlpSpanExport> | undefined;
  private waiting: RunSpan[] = [];
  private sending: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    private readonly url: string,
    private readonly host: SpanHost,
    private readonly log: (line: string) => void,
  ) {}

  add(span: RunSpan): void {
    if (this.waiting.length >= MAX_WAITING) {
      if (this.dropped++ % 100 === 0) this.log(`span export is behind: dropped ${this.dropped} run spans`);
      return;
    }
    this.waiting.push(span);
    this.sending ??= this.send().finally(() => (this.sending = undefined));
  }

  /** Sends what waits; for stopping. */
  async close(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.exporter) await (await this.exporter).shutdown().catch(() => undefined);
  }

  private async send(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        this.exporter ??= import('./otlp-span-export').then(({ OtlpSpanExport }) => new OtlpSpanExport(this.url, this.host));
        await (await this.exporter).export(batch);
      } catch (error) {
        this.log(`run spans not exported (${batch.length}): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
