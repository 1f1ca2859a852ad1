// The log export worker's thread (started by log-export-queue.ts): parses the events messages ingest
// committed from their text, encodes their records as OTLP log records (otlp-log-encoding.ts) and
// sends them, so none of that runs on the thread that ingests.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { EventRecord } from '@fleettrace/contracts';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer, type IExportLogsServiceResponse } from '@opentelemetry/otlp-transformer';
import { logStreamEncoding, logsRequest, releaseLogsRequest, type LogRecordsOfStream, type LogStreamEncoding } from './otlp-log-encoding';
import type { LogExportLimits, ToLogExportWorker, FromLogExportWorker } from './log-export-queue';

const port = parentPort!;
const { url, limits } = workerData as { url: string; limits: LogExportLimits };

/** A request as encoded here, and how many log records it holds. */
interface EncodedRequest {
  bytes: Uint8Array;
  records: number;
}

// The SDK's OTLP/HTTP exporter, built as its OTLPLogExporter builds itself (the OTEL_EXPORTER_OTLP_*
// settings, headers, timeout, retries, compression), sending requests encoded here rather than
// encoding ReadableLogRecords itself.
const exporter = new OTLPExporterBase<EncodedRequest>(
  createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url }, 'LOGS', 'v1/logs', { 'Content-Type': 'application/x-protobuf' }),
    { serializeRequest: (request: EncodedRequest) => request.bytes, deserializeResponse: (bytes: Uint8Array): IExportLogsServiceResponse => ProtobufLogsSerializer.deserializeResponse(bytes) },
    'otlp_http_log_exporter',
    { ...LogsExporterMetricsHelper, countItems: (request: EncodedRequest) => request.records },
    undefined,
  ),
);
const post = (message: FromLogExportWorker) => port.postMessage(message);
// On Linux a thread's nice value is its own: this lowers the worker only, never the ingest thread.
try {
  setPriority(limits.workerNice);
} catch {
  // Not permitted (or not Linux): the worker runs at the process's priority.
}

/** The streams the queue told this worker of, by eventStreamKey; each one's shared fields encoded once. */
const streams = new Map<string, LogStreamEncoding>();

/**
 * A committed events message waiting for a request, as the text it came in. It is parsed only when
 * a request takes it: an ingest batch is ~50,000 records, and parsed all at once their objects
 * waited through the requests that went out two at a time. In isolation the API process took
 * 2.26 us an event this way against 2.86 (four interleaved runs each; docs/telemetry.md, Cost).
 */
interface Unparsed {
  /** Resolved on arrival: a `forget` may come while the text waits. */
  readonly stream: LogStreamEncoding;
  readonly text: string;
  /** The records ingest counted in it. */
  readonly counted: number;
  readonly observedAt: number;
}

/** What waits for a request, oldest first: messages not parsed yet, and what a request left of one it took part of. */
const pending: Array<Unparsed | LogRecordsOfStream> = [];
/** Records in `pending`, as ingest counted them. */
let pendingRecords = 0;
let inFlight = 0;
let timer: NodeJS.Timeout | undefined;
const flushes: number[] = [];

port.on('message', (message: ToLogExportWorker) => {
  if (message.kind === 'events') {
    if (message.forget) streams.clear();
    for (const [key, stream] of message.streams) streams.set(key, logStreamEncoding(stream));
    const { observedAt } = message;
    let unknown = 0;
    message.texts.forEach((text, i) => {
      const counted = message.records[i]!;
      const stream = streams.get(message.keys[i]!);
      if (!stream) {
        unknown += counted;
        return;
      }
      pending.push({ stream, text, counted, observedAt });
      pendingRecords += counted;
    });
    // Never the case: the queue sends a stream before or with the first text that needs it.
    settleUnsent(unknown, 'their stream was never handed to the worker');
    // A full request goes at once; a partial one waits a little for company, as BatchLogRecordProcessor does.
    if (pendingRecords >= limits.maxExportBatchSize) pump();
    else timer ??= setTimeout(pump, limits.scheduledDelayMs);
  } else {
    flushes.push(message.id);
    pump();
  }
});

/** Records that will not be sent, counted as failed so the queue's count of what waits stays true. */
function settleUnsent(records: number, why: string): void {
  if (records > 0) post({ kind: 'settled', records, error: `${records} event records not sent: ${why}` });
}

/** Up to maxExportBatchSize of the oldest waiting records, taken off `pending`; none when nothing waiting could be read. */
function takeRequest(): EncodedRequest | undefined {
  const parts: LogRecordsOfStream[] = [];
  let records = 0;
  let unreadable = 0;
  while (pending.length > 0 && records < limits.maxExportBatchSize) {
    let next = pending[0]!;
    if ('text' in next) {
      const parsed = readEvents(next);
      if (!parsed) {
        pending.shift();
        pendingRecords -= next.counted;
        unreadable += next.counted;
        continue;
      }
      next = pending[0] = parsed;
    }
    const room = limits.maxExportBatchSize - records;
    if (next.records.length <= room) {
      pending.shift();
      parts.push(next);
      records += next.records.length;
    } else {
      parts.push({ ...next, records: next.records.slice(0, room) });
      pending[0] = { ...next, records: next.records.slice(room) };
      records += room;
    }
  }
  pendingRecords -= records;
  // One report a request, however many of its messages could not be read.
  settleUnsent(unreadable, 'their messages are not events messages of as many records as ingest counted');
  return records === 0 ? undefined : { bytes: logsRequest(parts), records };
}

function pump(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  while (pendingRecords > 0 && inFlight < limits.maxExportsInFlight) {
    const request = takeRequest();
    if (!request) break;
    inFlight++;
    exporter.export(request, (result) => {
      inFlight--;
      // A success means the collector read the whole request. A failure may come while the body is
      // still being written (a server answering 413 early): those bytes are never used again.
      if (result.code === ExportResultCode.SUCCESS) releaseLogsRequest(request.bytes);
      post({ kind: 'settled', records: request.records, ...(result.code === ExportResultCode.SUCCESS ? {} : { error: result.error?.message ?? 'export failed' }) });
      pump();
    });
  }
  if (pendingRecords > 0) timer ??= setTimeout(pump, limits.scheduledDelayMs);
  if (pendingRecords === 0 && inFlight === 0) for (const id of flushes.splice(0)) post({ kind: 'flushed', id });
}

/**
 * A waiting message's records; undefined when its text is not an events message of as many records
 * as ingest counted (never the case for what ingest parsed and stored). The text is the message as
 * ingest stored it (EventsHandover), so its records are taken as they are: checking them again here
 * cost 0.14 us an event (docs/telemetry.md, Cost).
 */
function readEvents({ stream, text, counted, observedAt }: Unparsed): LogRecordsOfStream | undefined {
  let message: { timeField?: unknown; records?: unknown } | null;
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return undefined;
  }
  // `null` (or any other non-object) parses too, and would throw below, outside any try.
  if (typeof message !== 'object' || message === null) return undefined;
  const { timeField, records } = message;
  if (typeof timeField !== 'string' || !Array.isArray(records) || records.length !== counted) return undefined;
  return { stream, timeField, records: records as EventRecord[], observedAt };
}
