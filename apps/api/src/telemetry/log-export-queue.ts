import { Worker } from 'node:worker_threads';
import { eventStreamKey, type EventStream } from './event-log-records';

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
  /** (run, output) streams a worker is told of before it is told to forget them all and start again. */
  streamsKept: number;
}

export const LOG_EXPORT_LIMITS: LogExportLimits = { maxQueuedRecords: 50_000, maxExportBatchSize: 2_048, scheduledDelayMs: 200, maxExportsInFlight: 2, workerNice: 10, streamsKept: 10_000 };

/**
 * One committed events message on its way to the worker: its text (the worker parses it again, off
 * the ingest thread), with its run, output and record count.
 */
export interface EventsHandover {
  runId: string;
  output: string;
  records: number;
  /**
   * The message as ingest stored it, so the worker checks its records no further: the stream
   * entry's text, or when ingest had to clean that for jsonb (ParsedMessage's `cleaned`), the
   * stored message written out.
   */
  text: string;
}

/**
 * An ingest batch's events messages, as their entries' texts: a string crosses to the worker as one
 * copy of its bytes, where the records as objects cost ingest a structured clone each (2-4 us an
 * event). Each text comes with its stream's key (`keys`, eventStreamKey) and its record count: the
 * worker resolves the stream on arrival, since a text may wait past a later `forget`. Each
 * (run, output)'s stream goes once per worker, with the first batch that needs it; `forget` tells
 * the worker to drop those it holds first (the queue's record of them was reset).
 */
export type ToLogExportWorker =
  | { kind: 'events'; streams: Array<[key: string, stream: EventStream]>; forget: boolean; keys: string[]; texts: string[]; records: number[]; observedAt: number }
  | { kind: 'flush'; id: number };
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
 * committed batch's events messages as text (EventsHandover; a copy of bytes, the only cost it
 * pays) to a worker thread that parses them, encodes their records as log records and sends them in
 * requests of up to maxExportBatchSize. The queue is bounded: what would pass maxQueuedRecords is
 * dropped and counted (`dropped`), never waited for.
 */
export class LogExportQueue {
  readonly stats: LogExportStats = { queued: 0, exported: 0, failed: 0, dropped: 0, requests: 0 };
  private worker: Worker | undefined;
  private waiting = 0;
  private nextFlush = 0;
  /** Close's waits, by flush id: told whether the worker sent everything (true) or exited first. */
  private readonly flushed = new Map<number, (sent: boolean) => void>();
  /** The (run, output) streams the current worker holds. */
  private readonly streamsSent = new Set<string>();
  /** streamsSent was reset: the worker must drop what it holds before it takes new streams. */
  private forgetStreams = false;

  constructor(
    private readonly url: string,
    private readonly onError: (message: string) => void,
    private readonly limits: LogExportLimits = LOG_EXPORT_LIMITS,
  ) {}

  /** Starts the worker now rather than with the first batch: loading it takes seconds, a backlog meanwhile would be dropped. */
  start(): void {
    this.started();
  }

  /**
   * Hands an ingest batch's events messages over, or drops them whole (counted) when the queue has
   * no room. A message whose stream `streamOf` does not know (its run is unknown) is left out.
   * Returns at once.
   */
  offer(messages: readonly EventsHandover[], streamOf: (runId: string, output: string) => EventStream | undefined, observedAt: Date): void {
    const worker = this.started();
    const streams: Array<[string, EventStream]> = [];
    const fresh = new Set<string>();
    const keys: string[] = [];
    const texts: string[] = [];
    const counts: number[] = [];
    let records = 0;
    if (this.streamsSent.size >= this.limits.streamsKept) {
      this.streamsSent.clear();
      this.forgetStreams = true;
    }
    for (const message of messages) {
      if (message.records === 0) continue;
      const key = eventStreamKey(message.runId, message.output);
      if (!this.streamsSent.has(key) && !fresh.has(key)) {
        const stream = streamOf(message.runId, message.output);
        if (!stream) continue;
        streams.push([key, stream]);
        fresh.add(key);
      }
      keys.push(key);
      texts.push(message.text);
      counts.push(message.records);
      records += message.records;
    }
    if (records === 0) return;
    if (this.waiting + records > this.limits.maxQueuedRecords) {
      if (this.stats.dropped === 0) this.onError(`OTLP log export is behind (${this.waiting} records waiting): dropping event records, counted in fleettrace_export_dropped_total`);
      this.stats.dropped += records;
      return;
    }
    this.waiting += records;
    this.stats.queued += records;
    worker.postMessage({ kind: 'events', streams, forget: this.forgetStreams, keys, texts, records: counts, observedAt: observedAt.getTime() } satisfies ToLogExportWorker);
    this.forgetStreams = false;
    for (const key of fresh) this.streamsSent.add(key);
  }

  /** Sends what waits, then stops the worker. False when something was still waiting after `timeoutMs`, or the worker exited first. */
  async close(timeoutMs = 10_000): Promise<boolean> {
    const worker = this.worker;
    if (!worker) return true;
    const id = this.nextFlush++;
    const flushed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.flushed.set(id, (sent) => {
        clearTimeout(timer);
        resolve(sent);
      });
      worker.postMessage({ kind: 'flush', id } satisfies ToLogExportWorker);
    });
    this.worker = undefined;
    await worker.terminate();
    return flushed;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(WORKER, { url: this.url, limits: this.limits });
    worker.on('message', (message: FromLogExportWorker) => {
      if (message.kind === 'flushed') {
        this.flushed.get(message.id)?.(true);
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
      // A new worker holds no streams.
      this.streamsSent.clear();
      this.forgetStreams = false;
      for (const done of this.flushed.values()) done(false);
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
