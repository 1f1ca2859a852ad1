// The log export worker's thread (started by log-export-queue.ts): parses the events messages ingest
// committed from their text, builds OTLP log records of them, encodes and sends them, so none of
// that runs on the thread that ingests.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { checkedRecords } from '../dtos/result-message.dto';
import { eventStreamKey, logRecordsOf } from './event-log-records';
import type { LogExportLimits, ToLogExportWorker, FromLogExportWorker } from './log-export-queue';

const port = parentPort!;
const { url, limits } = workerData as { url: string; limits: LogExportLimits };
const exporter = new OTLPLogExporter({ url });
const post = (message: FromLogExportWorker) => port.postMessage(message);
// On Linux a thread's nice value is its own: this lowers the worker only, never the ingest thread.
try {
  setPriority(limits.workerNice);
} catch {
  // Not permitted (or not Linux): the worker runs at the process's priority.
}

/** The streams the queue told this worker of, by eventStreamKey; each resource built once. */
const streams = new Map<string, { eventName: string; resource: Resource }>();
let pending: ReadableLogRecord[] = [];
let inFlight = 0;
let timer: NodeJS.Timeout | undefined;
const flushes: number[] = [];

port.on('message', (message: ToLogExportWorker) => {
  if (message.kind === 'events') {
    if (message.forget) streams.clear();
    for (const [key, stream] of message.streams) streams.set(key, { eventName: stream.eventName, resource: resourceFromAttributes(stream.resource) });
    const observedAt = new Date(message.observedAt);
    let unread = 0;
    message.texts.forEach((text, i) => {
      const records = readEvents(text, observedAt);
      if (records) for (const record of records) pending.push(record);
      else unread += message.records[i]!;
    });
    // Never the case for what ingest parsed and stored; counted as failed so the queue's count of what waits stays true.
    if (unread > 0) post({ kind: 'settled', records: unread, error: `${unread} event records could not be read again` });
    // A full request goes at once; a partial one waits a little for company, as BatchLogRecordProcessor does.
    if (pending.length >= limits.maxExportBatchSize) pump();
    else timer ??= setTimeout(pump, limits.scheduledDelayMs);
  } else {
    flushes.push(message.id);
    pump();
  }
});

function pump(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  while (pending.length > 0 && inFlight < limits.maxExportsInFlight) {
    const chunk = pending.length <= limits.maxExportBatchSize ? pending : pending.slice(0, limits.maxExportBatchSize);
    pending = chunk === pending ? [] : pending.slice(limits.maxExportBatchSize);
    inFlight++;
    exporter.export(chunk, (result) => {
      inFlight--;
      post({ kind: 'settled', records: chunk.length, ...(result.code === ExportResultCode.SUCCESS ? {} : { error: result.error?.message ?? 'export failed' }) });
      pump();
    });
  }
  if (pending.length > 0) timer ??= setTimeout(pump, limits.scheduledDelayMs);
  if (pending.length === 0 && inFlight === 0) for (const id of flushes.splice(0)) post({ kind: 'flushed', id });
}

/**
 * An events message's records as log records, read the way ingest read them (the same cleaning,
 * checkedRecords), so what is exported is what was stored; undefined when it cannot be read.
 */
function readEvents(text: string, observedAt: Date): ReadableLogRecord[] | undefined {
  let message: { runId?: unknown; output?: unknown; timeField?: unknown; records?: unknown };
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return undefined;
  }
  const { runId, output, timeField } = message;
  if (typeof runId !== 'string' || typeof output !== 'string' || typeof timeField !== 'string' || !Array.isArray(message.records)) return undefined;
  const stream = streams.get(eventStreamKey(runId, output));
  const records = checkedRecords(message.records);
  if (!stream || typeof records === 'string') return undefined;
  return logRecordsOf(stream, timeField, records, observedAt);
}
