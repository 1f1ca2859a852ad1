import { Worker } from 'node:worker_threads';
import type { EventLogBatch } from './event-log-records';

/**
 * How much event telemetry may wait, and how it is sent. Events are the one signal whose volume is
 * ingest's own (tens of thousands a second); past `maxQueuedRecords` waiting, new ones are dropped
 * and counted rather than let the export slow ingest down or grow without end.
 */
export interface LogExportLimits {
  maxQueuedRecords: number;
  /** Records per OTLP request (BatchLogRecordProcessor's maxExportBatchSize). */
  maxExportBatchSize: number;
  /** How long a partial request waits for more records. */
  scheduledDelayMs: number;
  maxExportsInFlight: number;
  /**
   * The worker thread's nice value (Linux: per thread). Telemetry must not take CPU that ingest and
   * PostgreSQL need: on a busy host the worker yields, falls behind, and the queue drops (counted).
   */
  workerNice: number;
}

export const LOG_EXPORT_LIMITS: LogExportLimits = { maxQueuedRecords: 50_000, maxExportBatchSize: 2_048, scheduledDelayMs: 200, maxExportsInFlight: 2, workerNice: 10 };

export type ToLogExportWorker = { kind: 'batches'; batches: EventLogBatch[]; observedAt: number } | { kind: 'flush'; id: number };
export type FromLogExportWorker = { kind: 'settled'; records: number; error?: string } | { kind: 'flushed'; id: number };

export interface LogExportStats {
  /** Records handed to the worker, and of those, sent (the collector said yes), failed, dropped before. */
  queued: number;
  exported: number;
  failed: number;
  dropped: number;
  requests: number;
}

const WORKER = new URL(`./log-export.worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Event records on their way to an OTLP logs endpoint, off the ingest thread: ingest hands over each
 * committed batch's records (a structured clone, the only cost it pays) to a worker thread that
 * builds the log records, encodes and sends them in requests of up to maxExportBatchSize. The queue
 * is bounded: what would pass maxQueuedRecords is dropped and counted (`dropped`), never waited for.
 */
export class LogExportQueue {
  readonly stats: LogExportStats = { queued: 0, exported: 0, failed: 0, dropped: 0, requests: 0 };
  private worker: Worker | undefined;
  private waiting = 0;
  private nextFlush = 0;
  private readonly flushed = new Map<number, () => void>();

  constructor(
    private readonly url: string,
    private readonly onError: (message: string) => void,
    private readonly limits: LogExportLimits = LOG_EXPORT_LIMITS,
  ) {}

  /** Starts the worker now rather than with the first batch: loading it takes seconds, a backlog meanwhile would be dropped. */
  start(): void {
    this.started();
  }

  /** Hands the batches over, or drops them whole (counted) when the queue has no room. Returns at once. */
  offer(batches: EventLogBatch[], observedAt: Date): void {
    let records = 0;
    for (const batch of batches) records += batch.records.length;
    if (records === 0) return;
    if (this.waiting + records > this.limits.maxQueuedRecords) {
      if (this.stats.dropped === 0) this.onError(`OTLP log export is behind (${this.waiting} records waiting): dropping event records, counted in fleettrace_export_dropped_total`);
      this.stats.dropped += records;
      return;
    }
    this.waiting += records;
    this.stats.queued += records;
    this.started().postMessage({ kind: 'batches', batches, observedAt: observedAt.getTime() } satisfies ToLogExportWorker);
  }

  /** Sends what waits, then stops the worker. */
  async close(timeoutMs = 10_000): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const id = this.nextFlush++;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.flushed.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ kind: 'flush', id } satisfies ToLogExportWorker);
    });
    this.worker = undefined;
    await worker.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(WORKER, { url: this.url, limits: this.limits });
    worker.on('message', (message: FromLogExportWorker) => {
      if (message.kind === 'flushed') {
        this.flushed.get(message.id)?.();
        this.flushed.delete(message.id);
        return;
      }
      this.waiting -= message.records;
      this.stats.requests++;
      if (message.error === undefined) this.stats.exported += message.records;
      else {
        this.stats.failed += message.records;
        this.onError(`OTLP log export failed: ${message.error}`);
      }
    });
    worker.on('error', (error) => this.onError(`OTLP log export worker failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      // What it held is lost; the next batch starts a new worker.
      this.stats.failed += this.waiting;
      this.waiting = 0;
      this.worker = undefined;
      for (const done of this.flushed.values()) done();
      this.flushed.clear();
    });
    // The worker must not keep a stopping process alive; close() sends what waits first.
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/**
 * The API runs from TypeScript sources (node --import tsx) and under vitest: a worker does not
 * inherit either's loader, so a .ts worker registers tsx before importing its module.
 */
function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const code = `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}
