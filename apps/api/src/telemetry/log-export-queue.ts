import { Worker } from 'node:worker_threads';
import type { EventsMessage } from '@fleettrace/contracts';
import { eventStreamKey, type EventStream } from './event-log-records';
import { logStreamEncoding, logsRequest, releaseLogsRequest, type LogRecordsOfStream, type LogStreamEncoding } from './otlp-log-encoding';

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
   * The worker thread's nice value (Linux: per thread). Sending must not take CPU that ingest and
   * PostgreSQL need: on a busy host the worker yields, falls behind, and the queue drops (counted).
   * Encoding runs on the ingest thread, at its priority (LogExportQueue says why).
   */
  workerNice: number;
  /** (run, output) streams whose shared fields are kept encoded before all are forgotten and encoding starts again. */
  streamsKept: number;
}

/**
 * maxQueuedRecords holds two of ingest's transactions as the fleet bench makes them (100 messages of
 * 500 records): one still being encoded and sent when the next commits. At one, whatever was left
 * of the last (at the least, a partial request waiting scheduledDelayMs for company) dropped the
 * next whole: 50,000 and 100,000 records in two of five bench runs (docs/telemetry.md, Cost).
 */
export const LOG_EXPORT_LIMITS: LogExportLimits = { maxQueuedRecords: 100_000, maxExportBatchSize: 2_048, scheduledDelayMs: 200, maxExportsInFlight: 2, workerNice: 10, streamsKept: 10_000 };

/** One committed events message on its way out, as ingest parsed and stored it. */
export type EventsHandover = Pick<EventsMessage, 'runId' | 'output' | 'timeField' | 'records'>;

/**
 * An encoded request, its bytes the whole of `buffer` up to `length`, transferred (not copied) to
 * the worker, and back to the queue once sent, for a later request.
 */
export type ToLogExportWorker = { kind: 'request'; buffer: ArrayBuffer; length: number; records: number } | { kind: 'flush'; id: number };
export type FromLogExportWorker = { kind: 'settled'; records: number; error?: string; buffer?: ArrayBuffer } | { kind: 'flushed'; id: number };

export interface LogExportStats {
  /** Records taken to be sent, and of those, sent (the collector said yes) or failed; and records dropped, never taken. */
  queued: number;
  exported: number;
  failed: number;
  dropped: number;
  requests: number;
}

const WORKER = new URL(`./log-export.worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Event records on their way to an OTLP logs endpoint. Ingest hands over each committed batch's
 * events messages as it parsed them (EventsHandover); they are encoded here, on the ingest thread,
 * into requests of up to maxExportBatchSize records (otlp-log-encoding.ts), and each request's
 * buffer is transferred to a worker thread that sends it and transfers it back.
 *
 * Why here and not in the worker: ingest already holds the records as objects, and the worker
 * could only have them again by parsing a copy of their text. That parse, and collecting the
 * ~50,000 objects a batch it made, cost the worker about as much again as encoding them
 * (docs/telemetry.md, Cost). Encoding makes no object a record, and a request's buffer crosses
 * without a copy.
 *
 * The queue is bounded: what would pass maxQueuedRecords waiting (here or in the worker) is
 * dropped and counted (`dropped`), never waited for.
 */
export class LogExportQueue {
  readonly stats: LogExportStats = { queued: 0, exported: 0, failed: 0, dropped: 0, requests: 0 };
  private worker: Worker | undefined;
  /** Records in requests the worker holds, not settled yet. */
  private handed = 0;
  /** Records waiting here for a request to fill (a partial one waits scheduledDelayMs for company). */
  private pending: LogRecordsOfStream[] = [];
  private pendingRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The next full request's encoding, an event-loop turn away. */
  private immediate: NodeJS.Immediate | undefined;
  private nextFlush = 0;
  /** Close's waits, by flush id: told whether the worker sent everything (true) or exited first. */
  private readonly flushed = new Map<number, (sent: boolean) => void>();
  /** Each (run, output) stream's shared fields, encoded once, by eventStreamKey; at most streamsKept. */
  private readonly encodings = new Map<string, LogStreamEncoding>();
  /** close() was called: what is offered after is dropped (counted), not left to a worker nothing closes. */
  private closing = false;

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
   * Takes an ingest batch's events messages, or drops them whole (counted) when the queue has no
   * room. A message whose stream `streamOf` does not know (its run is unknown) is left out.
   * Returns at once: encoding follows (scheduleNext).
   */
  offer(messages: readonly EventsHandover[], streamOf: (runId: string, output: string) => EventStream | undefined, observedAt: Date): void {
    const parts: LogRecordsOfStream[] = [];
    let records = 0;
    for (const message of messages) {
      if (message.records.length === 0) continue;
      const stream = this.encodingOf(message.runId, message.output, streamOf);
      if (!stream) continue;
      parts.push({ stream, timeField: message.timeField, records: message.records, observedAt: observedAt.getTime() });
      records += message.records.length;
    }
    if (records === 0) return;
    if (this.closing) {
      this.stats.dropped += records;
      return;
    }
    if (this.handed + this.pendingRecords + records > this.limits.maxQueuedRecords) {
      if (this.stats.dropped === 0) this.onError(`OTLP log export is behind (${this.handed + this.pendingRecords} records waiting): dropping event records, counted in fleettrace_export_dropped_total`);
      this.stats.dropped += records;
      return;
    }
    this.stats.queued += records;
    this.pending.push(...parts);
    this.pendingRecords += records;
    this.scheduleNext();
  }

  /** Sends what waits, then stops the worker. False when something was still waiting after `timeoutMs`, or the worker exited first. */
  async close(timeoutMs = 10_000): Promise<boolean> {
    this.closing = true;
    if (!this.worker && this.pendingRecords === 0) return true;
    this.sendAll();
    const worker = this.worker;
    // No worker only when every request failed to encode (counted): nothing waits.
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
    this.flushed.delete(id);
    await worker.terminate();
    // What the worker still held when it was stopped is lost (the exit handler counts it).
    return flushed;
  }

  /** The stream's shared fields, encoded on first use; undefined when its run is unknown. */
  private encodingOf(runId: string, output: string, streamOf: (runId: string, output: string) => EventStream | undefined): LogStreamEncoding | undefined {
    const key = eventStreamKey(runId, output);
    let encoding = this.encodings.get(key);
    if (!encoding) {
      const stream = streamOf(runId, output);
      if (!stream) return undefined;
      // Parts waiting hold their own reference: clearing forgets nothing they need.
      if (this.encodings.size >= this.limits.streamsKept) this.encodings.clear();
      encoding = logStreamEncoding(stream);
      this.encodings.set(key, encoding);
    }
    return encoding;
  }

  /**
   * Schedules what waits: the next full request's encoding an event-loop turn away, or a partial
   * request's scheduledDelayMs from when it started waiting, as BatchLogRecordProcessor's batches
   * wait (or the next offer, which fills it). Ingest calls offer() between a commit and its next
   * statement: a batch's encoding (~45 ms for 50,000 records) runs a request a turn while ingest
   * waits on the database, in slices that let its replies in.
   */
  private scheduleNext(): void {
    if (this.pendingRecords >= this.limits.maxExportBatchSize) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        if (this.pendingRecords >= this.limits.maxExportBatchSize) this.send(this.takeRequest());
        this.scheduleNext();
      });
    } else if (this.pendingRecords > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        // Only a partial request goes from here: full ones that came meanwhile go a turn at a time.
        if (this.pendingRecords < this.limits.maxExportBatchSize) this.sendAll();
        else this.scheduleNext();
      }, this.limits.scheduledDelayMs).unref();
    } else this.stopWaits();
  }

  /** Encodes and hands over everything that waits, now: a partial request whose delay is out, or all at close(). */
  private sendAll(): void {
    this.stopWaits();
    while (this.pendingRecords > 0) this.send(this.takeRequest());
  }

  private stopWaits(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Encodes a request and transfers its buffer to the worker. */
  private send({ parts, records }: { parts: LogRecordsOfStream[]; records: number }): void {
    let bytes: Buffer;
    try {
      bytes = logsRequest(parts);
    } catch (error) {
      // Never seen (a buffer that could not grow): telemetry lost and counted, never ingest stopped.
      this.stats.failed += records;
      this.onError(`OTLP log export could not encode ${records} event records: ${(error as Error).message}`);
      return;
    }
    const buffer = bytes.buffer as ArrayBuffer;
    this.handed += records;
    this.started().postMessage({ kind: 'request', buffer, length: bytes.length, records } satisfies ToLogExportWorker, [buffer]);
  }

  /** Up to maxExportBatchSize of the oldest waiting records, taken off `pending`. */
  private takeRequest(): { parts: LogRecordsOfStream[]; records: number } {
    const parts: LogRecordsOfStream[] = [];
    let records = 0;
    while (this.pending.length > 0 && records < this.limits.maxExportBatchSize) {
      const next = this.pending[0]!;
      const room = this.limits.maxExportBatchSize - records;
      if (next.records.length <= room) {
        this.pending.shift();
        parts.push(next);
        records += next.records.length;
      } else {
        parts.push({ ...next, records: next.records.slice(0, room) });
        this.pending[0] = { ...next, records: next.records.slice(room) };
        records += room;
      }
    }
    this.pendingRecords -= records;
    return { parts, records };
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
      this.handed -= message.records;
      this.stats.requests++;
      if (message.buffer) releaseLogsRequest(message.buffer);
      if (message.error === undefined) this.stats.exported += message.records;
      else {
        this.stats.failed += message.records;
        this.onError(`OTLP log export failed: ${message.error}`);
      }
    });
    worker.on('error', (error) => this.onError(`OTLP log export worker failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      // What it held is lost; the next request starts a new worker.
      this.stats.failed += this.handed;
      this.handed = 0;
      this.worker = undefined;
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
