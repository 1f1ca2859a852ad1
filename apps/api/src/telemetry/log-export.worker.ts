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
import { eventStreamKey } from './event-log-records';
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
/** Records waiting for a request, oldest first (encoded as a request is made), and how many they are. */
const pending: LogRecordsOfStream[] = [];
let pendingRecords = 0;
let inFlight = 0;
let timer: NodeJS.Timeout | undefined;
const flushes: number[] = [];

port.on('message', (message: ToLogExportWorker) => {
  if (message.kind === 'events') {
    if (message.forget) streams.clear();
    for (const [key, stream] of message.streams) streams.set(key, logStreamEncoding(stream));
    const { observedAt } = message;
    let unread = 0;
    message.texts.forEach((text, i) => {
      const records = readEvents(text, observedAt);
      if (records) {
        pending.push(records);
        pendingRecords += records.records.length;
      } else unread += message.records[i]!;
    });
    // Never the case for what ingest parsed and stored; counted as failed so the queue's count of what waits stays true.
    if (unread > 0) post({ kind: 'settled', records: unread, error: `${unread} event records could not be read again` });
    // A full request goes at once; a partial one waits a little for company, as BatchLogRecordProcessor does.
    if (pendingRecords >= limits.maxExportBatchSize) pump();
    else timer ??= setTimeout(pump, limits.scheduledDelayMs);
  } else {
    flushes.push(message.id);
    pump();
  }
});

/** Up to maxExportBatchSize of the oldest waiting records, taken off `pending`. */
function takeRequest(): EncodedRequest {
  const parts: LogRecordsOfStream[] = [];
  let records = 0;
  while (pending.length > 0 && records < limits.maxExportBatchSize) {
    const next = pending[0]!;
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
  return { bytes: logsRequest(parts), records };
}

function pump(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  while (pendingRecords > 0 && inFlight < limits.maxExportsInFlight) {
    const request = takeRequest();
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
 * An events message's records; undefined when it cannot be read. The text is the message as ingest
 * stored it (EventsHandover), so its records are taken as they are: checking them again here cost
 * 0.14 us an event (docs/telemetry.md, Cost).
 */
function readEvents(text: string, observedAt: number): LogRecordsOfStream | undefined {
  let message: { runId?: unknown; output?: unknown; timeField?: unknown; records?: unknown };
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return undefined;
  }
  const { runId, output, timeField } = message;
  if (typeof runId !== 'string' || typeof output !== 'string' || typeof timeField !== 'string' || !Array.isArray(message.records)) return undefined;
  const stream = streams.get(eventStreamKey(runId, output));
  if (!stream) return undefined;
  return { stream, timeField, records: message.records as EventRecord[], observedAt };
}
